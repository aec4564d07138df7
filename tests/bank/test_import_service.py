"""The real import: whole or nothing, idempotent, only the organisation's own accounts,
one row per transaction, other currencies stored but never matched."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from betaald.audit.models import Event
from betaald.bank.models import BankAccount, BankTransaction, Statement, TransactionStatus
from betaald.bank.services import (
    AccountNotOwned,
    DuplicateFile,
    statement_file_import,
    transaction_rows,
    transactions_match,
)
from betaald.bank.statements import file_warnings, parse_file
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

REALDATA = Path(settings.SHARED_DIR) / "realdata"
ING = REALDATA / "mt940/ing_mt940_sepa-structured_returns.940"
ABN_MT940 = REALDATA / "mt940/abnamro_mt940_structured.txt"
ABN_CAMT = REALDATA / "camt053/abnamro-style_camt053-001-02_dd-batch-returns.xml"
RABO_CAMT = REALDATA / "camt053/rabobank_camt053-001-02_real-export.xml"
GOLDMAN = REALDATA / "camt053/goldman-sachs_camt053-001-02_returns-usd.xml"


def org_with(*ibans: str):
    organisation = OrganisationFactory()
    for iban in ibans:
        BankAccount.objects.create(organisation=organisation, iban=iban, name="Zakelijk")
    return organisation


def import_bytes(organisation, data: bytes, filename: str = "statement"):
    parsed = parse_file(data, filename=filename)
    return statement_file_import(
        organisation=organisation,
        parsed=parsed,
        data=data,
        filename=filename,
        warnings=file_warnings(parsed),
    )


def import_file(organisation, path: Path):
    return import_bytes(organisation, path.read_bytes(), path.name)


def test_ing_statement_is_stored_with_one_row_per_line_and_an_audit_event():
    organisation = org_with("NL77INGB0574908765")
    result = import_file(organisation, ING)
    assert (result.statements_created, result.transactions_created, result.duplicates) == (1, 8, 0)
    statement = Statement.objects.get()
    assert statement.format == "mt940"
    assert statement.closing_balance == Decimal("564.35")
    assert statement.is_balanced
    rows = BankTransaction.objects.filter(statement=statement).order_by("pk")
    assert [row.amount for row in rows][:3] == [Decimal("1.56"), Decimal("1.57"), Decimal("1.57")]
    assert rows.filter(is_return=True).count() == 2
    assert rows.filter(status=TransactionStatus.OUTGOING).count() == 3  # debits, not returns
    event = Event.objects.get(name="bank.statement.imported")
    assert event.after["transactions"] == 8
    assert event.organisation == organisation


def test_the_returned_ids_are_the_new_rows_in_the_files_order():
    organisation = org_with("NL77INGB0574908765")
    result = import_file(organisation, ING)
    parsed = parse_file(ING.read_bytes(), filename=ING.name)
    keys = [row["unique_key"] for row in transaction_rows(parsed.statements[0])]
    stored = BankTransaction.objects.in_bulk(result.transaction_ids)
    assert [stored[pk].unique_key for pk in result.transaction_ids] == keys
    assert sorted(result.transaction_ids) == result.transaction_ids
    assert set(result.transaction_ids) == set(
        BankTransaction.objects.filter(organisation=organisation).values_list("pk", flat=True)
    )


def test_reimporting_the_same_file_is_a_clear_error_and_changes_nothing():
    organisation = org_with("NL77INGB0574908765")
    import_file(organisation, ING)
    with pytest.raises(DuplicateFile) as caught:
        import_file(organisation, ING)
    assert "imported before" in caught.value.message
    assert "ing_mt940_sepa-structured_returns.940" in caught.value.message
    assert BankTransaction.objects.count() == 8
    assert Statement.objects.count() == 1
    assert Event.objects.filter(name="bank.statement.imported").count() == 1


def test_the_same_statement_in_another_file_adds_nothing_without_error():
    organisation = org_with("NL77INGB0574908765")
    import_file(organisation, ING)
    copy = ING.read_bytes().replace(
        b"{1:F01INGBNL2ABXXX0000000000}", b"{1:F01INGBNL2ABXXX0000000001}"
    )
    result = import_bytes(organisation, copy, "copy.940")
    assert (result.statements_created, result.transactions_created, result.duplicates) == (0, 0, 8)
    assert Statement.objects.count() == 1


def test_an_overlapping_statement_adds_only_the_new_transactions():
    organisation = org_with("NL77INGB0574908765")
    import_file(organisation, ING)
    text = ING.read_text()
    extra = ":61:1402210221C10,00NTRFEREF//00000000001013\n:86:/EREF/NEW//REMI/USTD//new/\n"
    later = text.replace(":62F:C140220EUR564,35", extra + ":62F:C140221EUR574,35")
    result = import_bytes(organisation, later.encode(), "later.940")
    assert (result.transactions_created, result.duplicates) == (1, 8)
    assert BankTransaction.objects.count() == 9


def test_identical_lines_without_bank_reference_stay_separate_and_idempotent():
    """ABN AMRO MT940 has five identical EUR 1000 acceptgiro payments on one day."""
    organisation = org_with("123212321")
    first = import_file(organisation, ABN_MT940)
    assert first.transactions_created == 10
    assert BankTransaction.objects.filter(amount=Decimal("1000.00")).count() == 6
    with pytest.raises(DuplicateFile):
        import_file(organisation, ABN_MT940)
    assert BankTransaction.objects.count() == 10


def test_a_batch_entry_becomes_one_row_per_transaction():
    organisation = org_with("NL77ABNA0574908765")
    import_file(organisation, ABN_CAMT)
    returns = BankTransaction.objects.filter(is_return=True).order_by("index_in_entry")
    assert [(r.amount, r.mandate_id, r.return_reason) for r in returns] == [
        (Decimal("564.05"), "NL22ZZZ524885430000-C0125.1", "AC06"),
        (Decimal("100.00"), "NL22ZZZ524885430000-C0125.2", "AC06"),
    ]
    statement = Statement.objects.get()
    assert not statement.is_balanced  # imported with a warning, shown for review
    assert any("do not add up" in w for w in statement.warnings)


def test_a_statement_for_another_account_is_refused_naming_the_iban_and_nothing_is_saved():
    organisation = org_with("NL17RABO0310029597")  # the first of the two accounts only
    with pytest.raises(AccountNotOwned) as caught:
        import_file(organisation, RABO_CAMT)
    assert "NL59RABO3181240869" in str(caught.value)
    assert Statement.objects.count() == 0
    assert BankTransaction.objects.count() == 0


def test_every_statement_of_a_multi_statement_file_is_stored():
    organisation = org_with("NL17RABO0310029597", "NL59RABO3181240869")
    result = import_file(organisation, RABO_CAMT)
    assert result.statements_created == 132  # empty daily statements keep their balances
    assert result.transactions_created == 9
    with pytest.raises(DuplicateFile):
        import_file(organisation, RABO_CAMT)
    assert Statement.objects.count() == 132


def test_the_organisations_own_iban_is_accepted_as_its_account():
    organisation = OrganisationFactory(iban="NL77INGB0574908765")
    import_file(organisation, ING)
    assert BankAccount.objects.get(organisation=organisation).iban == "NL77INGB0574908765"


def test_the_same_account_of_another_organisation_does_not_count():
    org_with("NL77INGB0574908765")
    stranger = OrganisationFactory()
    with pytest.raises(AccountNotOwned):
        import_file(stranger, ING)


def test_other_currencies_are_stored_but_never_matched():
    organisation = org_with("DD01100056869")
    import_file(organisation, GOLDMAN)
    assert BankTransaction.objects.count() == 19
    usd = BankTransaction.objects.filter(currency="USD")
    assert usd.count() == 18
    assert set(usd.values_list("status", flat=True)) == {TransactionStatus.FOREIGN_CURRENCY}
    # the one EUR line on this USD account is an outgoing wire: not matched either
    assert BankTransaction.objects.get(currency="EUR").status == TransactionStatus.OUTGOING
    assert transactions_match(organisation=organisation) == {}
    assert BankTransaction.objects.filter(status=TransactionStatus.MATCHED).count() == 0


def test_cli_real_import_with_organisation_id_prints_json():
    organisation = org_with("NL77INGB0574908765")
    out = StringIO()
    call_command(
        "bank",
        "import",
        str(ING),
        "--organisation",
        str(organisation.pk),
        "--json",
        "--no-match",
        stdout=out,
        stderr=StringIO(),
    )
    report = json.loads(out.getvalue())
    assert report["transactions_created"] == 8
    assert report["entries"] == 8


def test_cli_refuses_a_foreign_account_naming_the_iban():
    organisation = org_with("NL00XXXX0000000000")
    with pytest.raises(CommandError) as caught:
        call_command("bank", "import", str(ING), "--organisation", str(organisation.pk))
    assert "NL77INGB0574908765" in str(caught.value)
    assert BankTransaction.objects.count() == 0


def test_cli_real_import_needs_an_organisation():
    with pytest.raises(CommandError, match="--organisation"):
        call_command("bank", "import", str(ING))


def test_cli_unknown_organisation():
    with pytest.raises(CommandError, match="not found"):
        call_command("bank", "import", str(ING), "--organisation", "nobody")


def test_cli_reimport_of_the_same_file_exits_4_naming_the_file():
    organisation = org_with("NL77INGB0574908765")
    args = ["bank", "import", str(ING), "--organisation", str(organisation.pk), "--no-match"]
    call_command(*args, stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert caught.value.returncode == 4
    assert str(caught.value).startswith(f"{ING}: this file was imported before")
    assert BankTransaction.objects.count() == 8


def test_dry_run_with_organisation_warns_about_unknown_accounts():
    organisation = org_with("NL17RABO0310029597")
    err = StringIO()
    call_command(
        "bank",
        "import",
        str(RABO_CAMT),
        "--dry-run",
        "--json",
        "--organisation",
        str(organisation.pk),
        stdout=StringIO(),
        stderr=err,
    )
    assert "account NL59RABO3181240869 is not a bank account" in err.getvalue()
    assert "NL17RABO0310029597 is not" not in err.getvalue()
