"""Every real bank file in ../shared/realdata parses to the figures derived by hand.

The expected numbers below were counted by reading each file, not by running the parser:
statements = camt `Stmt` / MT940 `:20:` blocks; entries = `Ntry` / `:61:`; transactions =
`TxDtls` (an entry without any counts 1, `Btch/NbOfTxs` ignored); totals = booked entry
amounts per entry currency; returns = transactions whose entry has `RvslInd` true or which have
`RtrInf` (MT940: mark RC/RD or `/RTRN/` in `:86:`). Issue 7 fixes these rules.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from betaald.bank.statements import file_warnings, parse_file, summarise

REALDATA = Path(settings.SHARED_DIR) / "realdata"


def load(relative: str) -> bytes:
    return (REALDATA / relative).read_bytes()


EXPECTED = {
    # ABN AMRO layout, camt.053.001.02, no XML declaration. One Stmt with three Ntry: a SEPA
    # direct debit (754.25 DBIT, MndtId), a reversed DD batch (RvslInd=true, 664.05 DBIT,
    # Btch/NbOfTxs=2 and two TxDtls with RtrInf AC06 -> 2 returns, 564.05 + 100.00), and an
    # incoming SCT of 1405.31 with AddtlTxInf only. Transactions 1 + 2 + 1 = 4. Opening 15568.27
    # + 1405.31 - 1418.30 = 15555.28 but CLBD is 15121.12: it does not balance (warning).
    "camt053/abnamro-style_camt053-001-02_dd-batch-returns.xml": {
        "format": "camt.053.001.02",
        "statements": 1,
        "entries": 3,
        "transactions": 4,
        "totals": {"EUR": {"credit": "1405.31", "debit": "1418.30"}},
        "returns": 2,
        "accounts": ["NL77ABNA0574908765"],
    },
    # camt.053.001.08 (genkgo fixture): account given as Acct/Id/Othr/Id, Sts/Cd=BOOK,
    # BookgDt/DtTm, Dbtr/Pty/Nm, one credit of 8.85 EUR with TxDtls/Amt "0" SEK (ignored: totals
    # use the entry amount), Strd CdtrRefInf with Issr BBA. Balances in EUR/SEK/CHF/JPY: the
    # opening (EUR) and closing (SEK) cannot be compared (warning).
    "camt053/generic-nl_camt053-001-08_multicurrency.xml": {
        "format": "camt.053.001.08",
        "statements": 1,
        "entries": 1,
        "transactions": 1,
        "totals": {"EUR": {"credit": "8.85", "debit": "0.00"}},
        "returns": 0,
        "accounts": ["NL26VAYB8060476890"],
    },
    # Goldman Sachs camt.053.001.02, USD account by Othr/Id. 19 Ntry, each with one TxDtls
    # (TxsSummry claims 16: ignored). USD credits: eleven of 10.00... precisely entries 1, 5-8,
    # 12-16 (10 x 10.00) + 1.00 + 29.12 + 15.41 = 145.53; USD debits 10 + 1 + 10 + 10 + 10 =
    # 41.00; one outgoing wire booked in EUR 29.06 (own currency bucket). Returns: RvslInd=true
    # on entries 1, 12, 15, 18, 19 (two with RtrInf Prtry AM06/'4', one R02, one AddtlInf only)
    # = 5.
    "camt053/goldman-sachs_camt053-001-02_returns-usd.xml": {
        "format": "camt.053.001.02",
        "statements": 1,
        "entries": 19,
        "transactions": 19,
        "totals": {
            "USD": {"credit": "145.53", "debit": "41.00"},
            "EUR": {"credit": "0.00", "debit": "29.06"},
        },
        "returns": 5,
        "accounts": ["DD01100056869"],
    },
    # ISO 20022 business example camt.053.001.04, SEK, account by Othr/Id. Three Ntry: credit
    # 105678.50 (one TxDtls), debit 200000 as a Btch with NbOfTxs=20 but no TxDtls (counts 1),
    # credit 30000 FX with a EUR TxDtls amount (ignored). 500000 + 135678.50 - 200000 =
    # 435678.50 = CLBD: balances.
    "camt053/iso20022-business-sample_camt053-001-04.xml": {
        "format": "camt.053.001.04",
        "statements": 1,
        "entries": 3,
        "transactions": 3,
        "totals": {"SEK": {"credit": "135678.50", "debit": "200000.00"}},
        "returns": 0,
        "accounts": ["50000000054910000003"],
    },
    # Rabobank real export, camt.053.001.02: 132 daily Stmt, most of them empty, for two
    # accounts (NL17RABO0310029597 first, NL59RABO3181240869 from Stmt 71). Nine Ntry with one
    # TxDtls each. Credits 4425.25 + 2982.99 + 4516.68 + 5823.83 = 17748.75; debits 4076.00 +
    # 5823.83 + 11589.61 + 4285.76 + 0.08 = 25775.28. The 4076.00 to the Belastingdienst carries
    # Strd CdtrRefInf Issr CUR 1067931951601240 (a betalingskenmerk).
    "camt053/rabobank_camt053-001-02_real-export.xml": {
        "format": "camt.053.001.02",
        "statements": 132,
        "entries": 9,
        "transactions": 9,
        "totals": {"EUR": {"credit": "17748.75", "debit": "25775.28"}},
        "returns": 0,
        "accounts": ["NL17RABO0310029597", "NL59RABO3181240869"],
    },
    # ABN AMRO MT940: 'ABNANL2A / 940' header lines, two statements separated by '-', local
    # account number 123212321. Statement 1: D5,1 D10, D10, (the last with /TRTP/ SEPA
    # OVERBOEKING subfields); statement 2: C4, (SEPA IDEAL legacy), D1000 (free text), 5 x D1000
    # SEPA ACCEPTGIROBETALING with BETALINGSKENM.: 1234567890098876. 10 entries; debits 25.10 +
    # 6000 = 6025.10. Neither statement balances (warnings).
    "mt940/abnamro_mt940_structured.txt": {
        "format": "mt940",
        "statements": 2,
        "entries": 10,
        "transactions": 10,
        "totals": {"EUR": {"credit": "4.00", "debit": "6025.10"}},
        "returns": 0,
        "accounts": ["123212321"],
    },
    # ING MT940 with SWIFT {1:}{2:}{4: headers, :25: with EUR suffix, :28C: wrapped, :61: bank
    # references wrapped over lines, /TRCD/ supplementary lines, a '-' inside a wrapped mandate
    # id, and a closing :86:/SUM/4/4/134,46/36,58/ that agrees with the hand count: credits 1.56
    # + 1.57 + 1.45 + 32.00 = 36.58, debits 1.57 + 1.14 + 12.75 + 119.00 = 134.46. Two /RTRN/MS03/
    # lines are returns. 662.23 + 36.58 - 134.46 = 564.35 = :62F:.
    "mt940/ing_mt940_sepa-structured_returns.940": {
        "format": "mt940",
        "statements": 1,
        "entries": 8,
        "transactions": 8,
        "totals": {"EUR": {"credit": "36.58", "debit": "134.46"}},
        "returns": 2,
        "accounts": ["NL77INGB0574908765"],
    },
    # Rabobank MT940 payment to the Belastingdienst: counter IBAN on the :61: second line,
    # /REMI//CDTRREFTP//CD/SCOR/ISSR/CUR/CDTRREF/1234567899874563/ wrapped mid-token.
    "mt940/rabobank_mt940_betalingskenmerk.txt": {
        "format": "mt940",
        "statements": 1,
        "entries": 1,
        "transactions": 1,
        "totals": {"EUR": {"credit": "0.00", "debit": "2000.00"}},
        "returns": 0,
        "accounts": ["NL50RABO0123456789"],
    },
    # Rabobank MT940 'structured': ':940:' header, two :20: blocks (2 and 7 :61: lines) for the
    # same account, 15-digit zero-padded amounts. Credits 169.90 + 1640.76 + 2050.95 + 1923.90
    # + 13431.00 = 19216.51; debits 127.50 + 585.60 + 674.73 + 130.29 = 1518.12. Both balance.
    "mt940/rabobank_mt940_structured.txt": {
        "format": "mt940",
        "statements": 2,
        "entries": 9,
        "transactions": 9,
        "totals": {"EUR": {"credit": "19216.51", "debit": "1518.12"}},
        "returns": 0,
        "accounts": ["NL50RABO0123456789"],
    },
    # Triodos MT940: /CNTP/iban/bic/name/city//EREF//REMI/USTD// with wraps inside tags ('RE' /
    # 'MI'), NET0/NID0 codes. Credits 4383.23 + 3456.29 = 7839.52, debits 90.91 + 19.83 =
    # 110.74; 0 + 7839.52 - 110.74 = 7728.78 balances. The account has 19 characters (bad IBAN).
    "mt940/triodos_mt940_iban.txt": {
        "format": "mt940",
        "statements": 1,
        "entries": 4,
        "transactions": 4,
        "totals": {"EUR": {"credit": "7839.52", "debit": "110.74"}},
        "returns": 0,
        "accounts": ["NL86TRIO07878788778"],
    },
}


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_each_real_file_gives_the_hand_counted_summary(relative):
    parsed = parse_file(load(relative), filename=relative)
    assert summarise(parsed) == EXPECTED[relative]


def test_every_real_statement_file_is_covered():
    files = sorted(
        str(path.relative_to(REALDATA))
        for folder in ("camt053", "mt940")
        for path in (REALDATA / folder).iterdir()
    )
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize(
    ("relative", "fragment"),
    [
        ("camt053/abnamro-style_camt053-001-02_dd-batch-returns.xml", "do not add up"),
        ("camt053/generic-nl_camt053-001-08_multicurrency.xml", "cannot be checked"),
        ("camt053/goldman-sachs_camt053-001-02_returns-usd.xml", "entries in EUR on a USD"),
        ("camt053/goldman-sachs_camt053-001-02_returns-usd.xml", "USD are stored but never"),
        ("camt053/iso20022-business-sample_camt053-001-04.xml", "SEK are stored but never"),
        ("mt940/abnamro_mt940_structured.txt", "do not add up"),
        ("mt940/ing_mt940_sepa-structured_returns.940", "account IBAN is invalid"),
        ("mt940/triodos_mt940_iban.txt", "Invalid IBAN length"),
        ("mt940/triodos_mt940_iban.txt", "NL21RABO0999999999 is invalid"),
    ],
)
def test_real_file_problems_are_warnings_not_errors(relative, fragment):
    warnings = file_warnings(parse_file(load(relative)))
    assert any(fragment in warning for warning in warnings), warnings


@pytest.mark.parametrize(
    "relative",
    [
        "camt053/iso20022-business-sample_camt053-001-04.xml",
        "camt053/rabobank_camt053-001-02_real-export.xml",
        "mt940/rabobank_mt940_structured.txt",
        "mt940/rabobank_mt940_betalingskenmerk.txt",
    ],
)
def test_balanced_real_files_have_no_balance_warning(relative):
    warnings = file_warnings(parse_file(load(relative)))
    assert not [w for w in warnings if "balance" in w], warnings


def test_all_shipped_camt_files_are_xsd_valid_so_no_xsd_warning():
    for path in sorted((REALDATA / "camt053").iterdir()):
        parsed = parse_file(path.read_bytes())
        assert not [w for w in parsed.warnings if "XSD" in w], path.name


def test_camt_batch_return_details():
    """ABN AMRO batch: RvslInd entry split into two TxDtls with their own amount and mandate."""
    parsed = parse_file(load("camt053/abnamro-style_camt053-001-02_dd-batch-returns.xml"))
    statement = parsed.statements[0]
    assert statement.opening_balance.amount == Decimal("15568.27")
    assert statement.closing_balance.amount == Decimal("15121.12")
    batch = statement.entries[1]
    assert batch.is_return
    assert batch.return_reason == "AC06"
    assert not batch.is_credit
    assert [tx.amount for tx in batch.transactions] == [Decimal("564.05"), Decimal("100.00")]
    assert [tx.mandate_id for tx in batch.transactions] == [
        "NL22ZZZ524885430000-C0125.1",
        "NL22ZZZ524885430000-C0125.2",
    ]
    assert all(tx.is_return and tx.return_reason == "AC06" for tx in batch.transactions)
    incoming = statement.entries[2].transactions[0]
    assert incoming.counterparty_iban == "NL69ABNA0522123643"
    assert incoming.counterparty_name == "3rd party Media"
    assert incoming.remittance == "#RD PARTY MEDIA CUSNO 90782 4210773"  # AddtlTxInf fallback
    assert incoming.end_to_end_id == "115"


def test_camt_rabobank_structured_betalingskenmerk():
    parsed = parse_file(load("camt053/rabobank_camt053-001-02_real-export.xml"))
    first = next(s for s in parsed.statements if s.entries).entries[0].transactions[0]
    assert first.structured_reference == "1067931951601240"
    assert first.reference_issuer == "CUR"
    assert first.counterparty_name == "Belastingdienst Apeldoorn"
    assert first.counterparty_iban == "NL86INGB0002445588"


def test_camt_goldman_return_reason_codes_from_proprietary():
    parsed = parse_file(load("camt053/goldman-sachs_camt053-001-02_returns-usd.xml"))
    reasons = [e.return_reason for e in parsed.statements[0].entries if e.is_return]
    assert reasons == ["", "", "R02", "AM06", "4"]


def test_camt_v08_party_and_dates():
    parsed = parse_file(load("camt053/generic-nl_camt053-001-08_multicurrency.xml"))
    entry = parsed.statements[0].entries[0]
    assert str(entry.booking_date) == "2014-12-31"
    assert str(entry.value_date) == "2015-01-02"
    tx = entry.transactions[0]
    assert tx.counterparty_name == "NAME NAME"
    assert tx.structured_reference == "4654654654654654"
    assert tx.reference_issuer == "BBA"
    assert tx.amount == Decimal("8.85")  # the booked amount, not TxDtls/Amt "0" SEK


def test_ing_86_subfields_returns_and_betalingskenmerk():
    parsed = parse_file(load("mt940/ing_mt940_sepa-structured_returns.940"))
    entries = parsed.statements[0].entries
    order = [1005, 1006, 1007, 1009, 1008, 1010, 1011, 1012]  # as in the file
    assert [e.bank_reference for e in entries] == [f"0000000000{n}" for n in order]
    first = entries[0].transactions[0]
    assert (first.counterparty_iban, first.counterparty_bic, first.counterparty_name) == (
        "NL32INGB0000012345",
        "INGBNL2A",
        "ING BANK NV INZAKE WEB",
    )
    assert first.end_to_end_id == "EV12341REP1231456T1234"
    assert first.remittance == "EV10001REP1000000T1000"
    returned = entries[2].transactions[0]
    assert returned.is_return
    assert returned.return_reason == "MS03"
    assert returned.remittance == "Factuurnr 123456 Klantnr 00123"
    debit = entries[3].transactions[0]
    assert debit.mandate_id == "MND-EV01"  # the '-' line inside the wrapped mandate id
    paid = entries[6].transactions[0]
    assert (paid.structured_reference, paid.reference_issuer) == ("9001123412341234", "CUR")
    assert parsed.statements[0].closing_balance.amount == Decimal("564.35")


def test_rabobank_counter_iban_on_61_and_structured_reference():
    parsed = parse_file(load("mt940/rabobank_mt940_betalingskenmerk.txt"))
    tx = parsed.statements[0].entries[0].transactions[0]
    assert tx.counterparty_iban == "NL86INGB0002445588"
    assert tx.counterparty_name == "Belastingdienst"
    assert tx.structured_reference == "1234567899874563"
    assert tx.reference_issuer == "CUR"
    assert tx.end_to_end_id == "123456789"


def test_abn_amro_legacy_and_trtp_86():
    parsed = parse_file(load("mt940/abnamro_mt940_structured.txt"))
    first, second = parsed.statements
    trtp = first.entries[2].transactions[0]
    assert (trtp.counterparty_iban, trtp.counterparty_name, trtp.remittance) == (
        "NL25ABNA0987654321",
        "FOOBAR",
        "SAVINGS",
    )
    acceptgiro = second.entries[2].transactions[0]
    assert acceptgiro.counterparty_name == "BELASTINGDIENST"
    assert acceptgiro.counterparty_iban == "NL86INGB0002445588"
    assert acceptgiro.structured_reference == "1234567890098876"
    ideal = second.entries[0].transactions[0]
    assert ideal.remittance == "4851430136 0030000 735822580 NS E-TICKET(S)"


def test_triodos_cntp_with_wrapped_tags():
    parsed = parse_file(load("mt940/triodos_mt940_iban.txt"))
    second = parsed.statements[0].entries[1].transactions[0]
    assert second.counterparty_iban == "NL21RABO0999999999"
    assert second.counterparty_bic == "RABONL2U"
    assert second.counterparty_name == "G-AAAAA N.V."
    assert second.remittance == "Factuurnummer 201801-001"
