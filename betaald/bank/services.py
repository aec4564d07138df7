"""Writes of the bank app: importing statement files, matching and booking transactions,
the review queue (accept, split, not ours) and returns.

Every write is a keyword-only service in one database transaction with its audit event.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone, translation

from betaald.audit.services import acting_user, event_record
from betaald.bank.models import BankAccount, BankTransaction, Statement, TransactionStatus
from betaald.bank.statements import ParsedFile
from betaald.bank.statements import Statement as ParsedStatement
from betaald.bank.statements.checks import balance_warnings
from betaald.core import matching
from betaald.core.errors import DomainError
from betaald.organisations.models import Organisation

MATCHABLE_CURRENCY = "EUR"


class AccountNotOwned(DomainError):
    """A statement is for an account that is not one of the organisation's bank accounts."""


class DuplicateFile(DomainError):
    """The very same file was imported before and holds nothing new: nothing was changed."""


class ReviewError(DomainError):
    """A review action does not fit the transaction (already booked, amounts do not add up)."""


@dataclass(frozen=True)
class ImportResult:
    statements_created: int
    transactions_created: int
    duplicates: int
    transaction_ids: list[int] = field(default_factory=list)


def normalise_account(value: str) -> str:
    return value.replace(" ", "").upper()


def _accounts_for(organisation: Organisation, parsed: ParsedFile) -> dict[str, BankAccount]:
    """The organisation's account for every statement, or AccountNotOwned naming the IBAN.

    The organisation's own IBAN (on its settings) is an account of it even before it was added
    as a bank account.
    """
    accounts: dict[str, BankAccount] = {}
    known = {
        normalise_account(account.iban): account
        for account in BankAccount.objects.filter(organisation=organisation)
    }
    for statement in parsed.statements:
        iban = normalise_account(statement.account)
        if iban in accounts:
            continue
        if iban in known:
            accounts[iban] = known[iban]
        elif iban == normalise_account(organisation.iban or ""):
            accounts[iban], _ = BankAccount.objects.get_or_create(
                organisation=organisation,
                iban=iban,
                defaults={"name": organisation.display_name, "currency": statement.currency},
            )
        else:
            raise AccountNotOwned(
                "the statement is for account %(account)s, which is not a bank account of "
                "%(organisation)s; add the account first",
                field="account",
                params={"account": statement.account, "organisation": organisation.display_name},
            )
    return accounts


def _digest(*parts: object) -> str:
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _statement_key(statement: ParsedStatement, transaction_keys: Sequence[str]) -> str:
    """The same statement gives the same key whatever the file format it came in."""
    opening, closing = statement.opening_balance, statement.closing_balance
    if opening is None and closing is None:
        return _digest(statement.account, *transaction_keys)
    return _digest(
        normalise_account(statement.account),
        opening.amount if opening else "",
        opening.on if opening else "",
        closing.amount if closing else "",
        closing.on if closing else "",
        len(transaction_keys),
    )


def transaction_rows(statement: ParsedStatement) -> list[dict[str, Any]]:
    """One row per transaction with its unique key (bank reference + index, else a hash)."""
    rows: list[dict[str, Any]] = []
    occurrences: Counter[str] = Counter()
    for entry in statement.entries:
        for index, tx in enumerate(entry.transactions):
            amount = tx.amount if len(entry.transactions) > 1 else entry.amount
            reference = entry.bank_reference or tx.bank_reference
            if reference:
                key = f"ref:{reference}:{index}"[:120]
            else:
                content = _digest(
                    entry.booking_date,
                    entry.value_date,
                    amount,
                    tx.currency,
                    entry.is_credit,
                    tx.counterparty_iban,
                    tx.counterparty_name,
                    tx.remittance,
                    tx.structured_reference,
                    tx.end_to_end_id,
                    index,
                )
                occurrences[content] += 1
                key = f"hash:{content}:{occurrences[content]}"
            rows.append(
                {
                    "unique_key": key,
                    "booking_date": entry.booking_date,
                    "value_date": entry.value_date,
                    "amount": amount,
                    "currency": tx.currency if len(entry.transactions) > 1 else entry.currency,
                    "is_credit": entry.is_credit,
                    "bank_reference": reference[:100],
                    "index_in_entry": index,
                    "bank_transaction_code": entry.bank_transaction_code[:50],
                    "counterparty_name": tx.counterparty_name[:200],
                    "counterparty_iban": tx.counterparty_iban[:34],
                    "counterparty_bic": tx.counterparty_bic[:11],
                    "remittance": tx.remittance,
                    "structured_reference": tx.structured_reference[:35],
                    "reference_issuer": tx.reference_issuer[:35],
                    "end_to_end_id": tx.end_to_end_id[:100],
                    "mandate_id": tx.mandate_id[:100],
                    "is_return": tx.is_return,
                    "return_reason": tx.return_reason[:35],
                }
            )
    return rows


def _initial_status(row: dict[str, Any]) -> str:
    if row["currency"] != MATCHABLE_CURRENCY:
        return TransactionStatus.FOREIGN_CURRENCY
    if row["is_return"]:
        return TransactionStatus.UNMATCHED
    if not row["is_credit"]:
        return TransactionStatus.OUTGOING
    return TransactionStatus.UNMATCHED


CHUNK = 5000


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _insert_transactions(account: BankAccount, rows: list[dict[str, Any]]) -> list[int]:
    """Insert new transaction rows; their ids in row order. PostgreSQL: the ids are taken from
    the table's sequence first and the rows written with one COPY (a statement of 100,000 lines
    is written in seconds); elsewhere bulk_create."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = BankTransaction.objects.bulk_create(
            [BankTransaction(**row) for row in rows], batch_size=2000
        )
        return [tx.pk for tx in created]
    now = timezone.now()
    fields = [
        f
        for f in BankTransaction._meta.concrete_fields
        if f.attname not in ("matched_at", "customer_id")
    ]
    table = BankTransaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        fixed = {"created_at": now, "candidates": "[]"}
        sql = f'COPY "{table}" ({", ".join(f.column for f in fields)}) FROM STDIN'
        with cursor.cursor.copy(sql) as copy:
            for pk, row in zip(ids, rows, strict=True):
                row["id"] = pk
                copy.write_row(
                    [fixed[f.attname] if f.attname in fixed else row[f.attname] for f in fields]
                )
    return ids


@transaction.atomic
def statement_file_import(
    *,
    organisation: Organisation,
    parsed: ParsedFile,
    data: bytes,
    filename: str = "",
    warnings: Iterable[str] = (),
    actor: Any = None,
) -> ImportResult:
    """Import every statement of a parsed file, whole or not at all; known transactions are
    skipped, so importing the same file or an overlapping statement again adds nothing."""
    from betaald.payments.services import among

    accounts = _accounts_for(organisation, parsed)
    file_sha256 = hashlib.sha256(data).hexdigest()
    user = acting_user(actor)
    warning_list = list(warnings)
    statements_created = transactions_created = duplicates = 0
    new_ids: list[int] = []
    for index, parsed_statement in enumerate(parsed.statements, start=1):
        account = accounts[normalise_account(parsed_statement.account)]
        rows = transaction_rows(parsed_statement)
        keys = [row["unique_key"] for row in rows]
        known: set[str] = set()
        for chunk in _chunks(keys):
            known.update(
                BankTransaction.objects.filter(
                    among(BankTransaction, "unique_key", chunk), account=account
                ).values_list("unique_key", flat=True)
            )
        seen: set[str] = set()
        new_rows = []
        for row in rows:
            if row["unique_key"] in known or row["unique_key"] in seen:
                duplicates += 1
                continue
            seen.add(row["unique_key"])
            new_rows.append(row)
        statement_key = _statement_key(parsed_statement, keys)
        existing = Statement.objects.filter(account=account, statement_key=statement_key).first()
        if existing is not None and not new_rows:
            continue
        if rows and not new_rows:
            continue  # an overlapping statement whose transactions are all known adds nothing
        problems = balance_warnings(index, parsed_statement)
        opening, closing = parsed_statement.opening_balance, parsed_statement.closing_balance
        statement = existing or Statement.objects.create(
            organisation=organisation,
            account=account,
            identifier=parsed_statement.identifier[:100],
            format=parsed.format,
            filename=filename[:255],
            file_sha256=file_sha256,
            statement_key=statement_key,
            currency=parsed_statement.currency,
            opening_balance=opening.amount if opening else None,
            opening_on=opening.on if opening else None,
            closing_balance=closing.amount if closing else None,
            closing_on=closing.on if closing else None,
            is_balanced=not problems,
            warnings=[w for w in warning_list if f"statement {index} " in w] or problems,
            imported_by=user,
        )
        if existing is None:
            statements_created += 1
        for row in new_rows:
            row.update(
                organisation_id=organisation.pk,
                account_id=account.pk,
                statement_id=statement.pk,
                status=_initial_status(row),
            )
        created_ids = _insert_transactions(account, new_rows)
        transactions_created += len(created_ids)
        new_ids += created_ids
        event_record(
            name="bank.statement.imported",
            organisation=organisation,
            actor=actor,
            subject=statement,
            after={
                "account": account.iban,
                "identifier": statement.identifier,
                "format": parsed.format,
                "filename": filename,
                "file_sha256": file_sha256,
                "transactions": len(created_ids),
                "duplicates": len(rows) - len(new_rows),
                "is_balanced": statement.is_balanced,
                "closing_balance": str(statement.closing_balance)
                if statement.closing_balance is not None
                else None,
            },
        )
    if not statements_created and not transactions_created:
        earlier = (
            Statement.objects.filter(organisation=organisation, file_sha256=file_sha256)
            .order_by("imported_at")
            .first()
        )
        if earlier is not None:
            raise DuplicateFile(
                "this file was imported before (%(file)s on %(at)s, statement %(statement)s of "
                "%(iban)s); nothing changed",
                field="file",
                params={
                    "file": earlier.filename or "statement",
                    "at": f"{timezone.localtime(earlier.imported_at):%Y-%m-%d %H:%M}",
                    "statement": earlier.identifier or earlier.pk,
                    "iban": earlier.account.iban,
                },
            )
    return ImportResult(statements_created, transactions_created, duplicates, new_ids)


@transaction.atomic
def bank_account_add(
    *, organisation: Organisation, iban: str, name: str = "", actor: Any = None
) -> BankAccount:
    """Add one of the organisation's bank accounts (so its statements can be imported)."""
    value = normalise_account(iban)
    if not value:
        raise DomainError("give the IBAN or account number", field="iban")
    account, created = BankAccount.objects.get_or_create(
        organisation=organisation, iban=value, defaults={"name": name.strip()[:100]}
    )
    if created:
        event_record(
            name="bank.account.added",
            organisation=organisation,
            actor=actor,
            subject=account,
            after={"iban": value, "name": account.name},
        )
    return account


# --- matching -------------------------------------------------------------------------------


_ITEM_FIELDS = ("pk", "customer_id", "number", "payment_reference", "open_amount", "due_on")


def _items(rows: Iterable[tuple[Any, ...]]) -> list[matching.OpenItem]:
    return [
        matching.OpenItem(
            invoice_id=pk,
            customer_id=customer_id,
            number=number,
            payment_reference=reference,
            open_amount=Decimal(open_amount),
            due_on=due_on,
        )
        for pk, customer_id, number, reference, open_amount, due_on in rows
    ]


class Matcher:
    """Candidates for a run of bank lines, reading only the open invoices they can match.

    Cost follows the statement, not the book: first the invoices whose betalingskenmerk or
    number occurs in a line are read (in chunks); then, for the lines those do not settle
    (`matching.settles`), the open invoices of the customers whose IBAN pays.
    """

    def __init__(self, organisation: Organisation, lines: Sequence[matching.BankLine]) -> None:
        from betaald.debtors.models import CustomerIban
        from betaald.invoices.models import Invoice
        from betaald.invoices.selectors import invoices_open
        from betaald.payments.services import among

        self.organisation = organisation
        self.base = invoices_open(organisation).filter(currency=MATCHABLE_CURRENCY).order_by()
        references: set[str] = set()
        numbers: set[str] = set()
        ibans: set[str] = set()
        for line in lines:
            if line.structured_reference:
                references.add(matching.normalise_reference(line.structured_reference))
            references.update(matching.references_in_text(line.remittance))
            numbers.update(
                word for word in matching.words(line.remittance) if any(c.isdigit() for c in word)
            )
            if line.counterparty_iban:
                ibans.add(line.counterparty_iban)
        self.known: dict[str, int] = {}
        for chunk in _chunks(sorted(ibans)):
            for iban, customer_id in CustomerIban.objects.filter(
                among(CustomerIban, "iban", chunk), customer__organisation=organisation
            ).values_list("iban", "customer_id"):
                self.known[normalise_account(iban)] = customer_id
        rows: dict[int, tuple[Any, ...]] = {}
        for chunk in _chunks(sorted(references)):
            query = self.base.filter(among(Invoice, "payment_reference", chunk))
            rows.update((row[0], row) for row in query.values_list(*_ITEM_FIELDS))
        for chunk in _chunks(sorted(numbers)):
            query = self.base.exclude(number="").filter(among(Invoice, "number", chunk))
            rows.update((row[0], row) for row in query.values_list(*_ITEM_FIELDS))
        self.index = matching.OpenItemIndex(_items(rows.values()), self.known)
        self.items_read = len(rows)
        self.loaded: set[int] = set()
        payers: set[int] = set()
        for line in lines:
            payer = self.known.get(line.counterparty_iban)
            if payer is not None and not matching.settles(
                matching.candidates(line, self.index, include_iban=False)
            ):
                payers.add(payer)
        self._load(payers)

    def _load(self, customer_ids: Iterable[int]) -> None:
        from betaald.invoices.models import Invoice
        from betaald.payments.services import among

        wanted = sorted(set(customer_ids) - self.loaded)
        for chunk in _chunks(wanted):
            rows = self.base.filter(among(Invoice, "customer_id", chunk))
            items = _items(rows.values_list(*_ITEM_FIELDS))
            self.items_read += len(items)
            self.index.add(items)
        self.loaded.update(wanted)

    def candidates(self, line: matching.BankLine) -> list[matching.Candidate]:
        found = matching.candidates(line, self.index, include_iban=False)
        if matching.settles(found):
            return found
        customer_id = self.known.get(line.counterparty_iban)
        if customer_id is not None:
            self._load([customer_id])
        return matching.candidates(line, self.index)

    def consume(self, candidate: matching.Candidate) -> None:
        self.index.consume(candidate)


@dataclass(slots=True)
class Pending:
    """What matching and booking read of an unmatched transaction (fields fixed at import)."""

    pk: int
    amount: Decimal
    is_credit: bool
    is_return: bool
    booking_date: date | None
    value_date: date | None
    counterparty_iban: str
    structured_reference: str
    remittance: str
    end_to_end_id: str


_PENDING_FIELDS = tuple(name for name in Pending.__dataclass_fields__)


def line_for(tx: BankTransaction | Pending) -> matching.BankLine:
    return matching.BankLine(
        amount=tx.amount,
        counterparty_iban=normalise_account(tx.counterparty_iban),
        structured_reference=tx.structured_reference,
        remittance=" ".join(part for part in (tx.remittance, tx.end_to_end_id) if part),
    )


def _candidates_json(candidates: Sequence[matching.Candidate]) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": candidate.customer_id,
            "invoice_ids": list(candidate.invoice_ids),
            "amount": str(candidate.amount),
            "reason": candidate.reason,
            "explanation": candidate.explanation,
            "score": candidate.score,
        }
        for candidate in candidates
    ]


def _register_payment(
    *,
    tx: BankTransaction,
    customer_id: int,
    amount: Decimal,
    designated_invoice_id: int | None,
    actor: Any,
) -> Any:
    from betaald.debtors.models import Customer
    from betaald.invoices.models import Invoice
    from betaald.payments.services import payment_register

    customer = Customer.objects.get(pk=customer_id, organisation=tx.organisation)
    designated = (
        Invoice.objects.get(pk=designated_invoice_id, organisation=tx.organisation)
        if designated_invoice_id
        else None
    )
    payment = payment_register(
        organisation=tx.organisation,
        customer=customer,
        amount=amount,
        received_on=tx.booking_date or tx.value_date or timezone.localdate(),
        method="bank_transfer",
        description=(tx.remittance or tx.structured_reference)[:300],
        counterparty_iban=tx.counterparty_iban,
        designated_invoice=designated,
        actor=actor,
    )
    tx.payments.add(payment)
    return payment


def _learn_iban(tx: BankTransaction, customer_id: int, actor: Any) -> None:
    """Remember the counterparty IBAN on the customer (debtors service; invalid ones skipped)."""
    from django.core.exceptions import ValidationError

    from betaald.debtors.models import Customer
    from betaald.debtors.services import customer_iban_add

    iban = normalise_account(tx.counterparty_iban)
    if not iban:
        return
    customer = Customer.objects.get(pk=customer_id, organisation=tx.organisation)
    try:
        with transaction.atomic():
            customer_iban_add(
                customer=customer,
                iban=iban,
                actor=actor,
                source="bank_match",
                seen_on=tx.booking_date,
            )
    except (ValidationError, DomainError):
        return


def _book_candidate(
    tx: BankTransaction, candidate: matching.Candidate | dict[str, Any], actor: Any
) -> None:
    if isinstance(candidate, dict):
        customer_id = int(candidate["customer_id"])
        invoice_ids = [int(i) for i in candidate["invoice_ids"]]
    else:
        customer_id, invoice_ids = candidate.customer_id, list(candidate.invoice_ids)
    designated = invoice_ids[0] if len(invoice_ids) == 1 else None
    _register_payment(
        tx=tx,
        customer_id=customer_id,
        amount=tx.amount,
        designated_invoice_id=designated,
        actor=actor,
    )
    tx.customer_id = customer_id


BOOK_CHUNK = 2000
BOOK_WORKERS = 2  # connections booking at once, unless the BANK_MATCH_WORKERS setting says


def _payment_item(
    tx: BankTransaction | Pending,
    customer_id: int,
    amount: Decimal,
    designated_invoice_id: int | None,
) -> Any:
    from betaald.payments.services import PaymentItem

    return PaymentItem(
        customer_id=customer_id,
        amount=amount,
        received_on=tx.booking_date or tx.value_date or timezone.localdate(),
        method="bank_transfer",
        description=(tx.remittance or tx.structured_reference)[:300],
        counterparty_iban=tx.counterparty_iban,
        designated_invoice_id=designated_invoice_id,
    )


_Decided = tuple[Pending, list[matching.Candidate], matching.Candidate | None]


def _update_matched(rows: Sequence[tuple[int, list[dict[str, Any]], str, Any, int | None]]) -> None:
    """Set (candidates, status, matched_at, customer) of these transactions, by id. PostgreSQL:
    COPY into a temporary table and one UPDATE; elsewhere `bulk_update`."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        BankTransaction.objects.bulk_update(
            [
                BankTransaction(
                    pk=pk,
                    candidates=candidates,
                    status=status,
                    matched_at=matched_at,
                    customer_id=customer_id,
                )
                for pk, candidates, status, matched_at, customer_id in rows
            ],
            ["candidates", "status", "matched_at", "customer"],
            batch_size=500,
        )
        return
    table = BankTransaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bank_transaction_matched (id bigint, candidates jsonb, "
            "status varchar(20), matched_at timestamptz, customer_id bigint) ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY bank_transaction_matched FROM STDIN") as copy:
            for pk, candidates, status, matched_at, customer_id in rows:
                copy.write_row((pk, json.dumps(candidates), status, matched_at, customer_id))
        # The ids once more as an array: the planner then reads the chunk's rows by primary
        # key instead of hashing the whole table (whose statistics are stale after an import).
        cursor.execute(
            f'UPDATE "{table}" AS t SET candidates = m.candidates, status = m.status, '  # noqa: S608
            "matched_at = m.matched_at, customer_id = m.customer_id "
            "FROM bank_transaction_matched AS m WHERE t.id = m.id AND t.id = ANY(%s::bigint[])",
            [[row[0] for row in rows]],
        )
        cursor.execute("DROP TABLE bank_transaction_matched")


def _lock_unmatched(ids: Sequence[int]) -> set[int]:
    """Lock these transactions in id order; the ids of those still unmatched."""
    if connection.vendor != "postgresql":
        return set(
            BankTransaction.objects.select_for_update()
            .filter(pk__in=ids, status=TransactionStatus.UNMATCHED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    # One primary-key lookup per id, in id order (a lateral subquery with FOR UPDATE is never
    # flattened): the plan does not depend on statistics, which are stale after an import.
    table = BankTransaction._meta.db_table
    lookup = f'SELECT id, status FROM "{table}" WHERE id = wanted.id FOR UPDATE'  # noqa: S608
    sql = f"SELECT t.id, t.status FROM unnest(%s::bigint[]) AS wanted(id), LATERAL ({lookup}) t"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [sorted(ids)])
        return {pk for pk, status in cursor.fetchall() if status == TransactionStatus.UNMATCHED}


def _book_chunk(
    organisation: Organisation, chunk: Sequence[_Decided], counts: Counter[str], actor: Any
) -> None:
    """Book a chunk of decided lines in one database transaction: the matches through
    `payments_register_bulk`, the rest into the review queue; statuses and audit in bulk."""
    from betaald.payments.services import EventRows, copy_rows, payments_register_bulk

    locked = _lock_unmatched([tx.pk for tx, _c, _d in chunk])
    now = timezone.now()
    updates: list[tuple[int, list[dict[str, Any]], str, Any, int | None]] = []
    items = []
    booked: list[int] = []
    audit = EventRows(organisation, actor)
    subject_type = BankTransaction._meta.label_lower
    for tx, candidates, decision in chunk:
        if tx.pk not in locked:
            continue  # matched meanwhile by another run
        stored = _candidates_json(candidates)
        if decision is not None:
            invoice_ids = list(decision.invoice_ids)
            designated = invoice_ids[0] if len(invoice_ids) == 1 else None
            items.append(_payment_item(tx, decision.customer_id, tx.amount, designated))
            booked.append(tx.pk)
            updates.append((tx.pk, stored, TransactionStatus.MATCHED, now, decision.customer_id))
            counts["matched"] += 1
        else:
            updates.append((tx.pk, stored, TransactionStatus.REVIEW, None, None))
            counts["review"] += 1
    payments = payments_register_bulk(organisation=organisation, items=items, actor=actor)
    copy_rows(
        BankTransaction.payments.through,
        ["banktransaction", "payment"],
        [(pk, payment.pk) for pk, payment in zip(booked, payments, strict=True)],
    )
    _update_matched(updates)
    amounts = {tx.pk: tx.amount for tx, _c, _d in chunk}
    for pk, stored, status, _at, customer_id in updates:
        audit.add(
            "bank.transaction.matched"
            if status == TransactionStatus.MATCHED
            else "bank.transaction.queued",
            subject_type=subject_type,
            subject_id=pk,
            customer_id=customer_id,
            after={"amount": str(amounts[pk]), "status": str(status), "candidates": stored[:5]},
        )
    audit.write()


def _book_one(
    organisation: Organisation, decided: _Decided, counts: Counter[str], actor: Any
) -> None:
    """Book one decided line in its own database transaction (the path a failed chunk takes,
    so that one bad line never undoes the others)."""
    tx, candidates, decision = decided
    with transaction.atomic():
        locked = BankTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status != TransactionStatus.UNMATCHED:
            return
        locked.candidates = _candidates_json(candidates)
        if decision is not None:
            _book_candidate(locked, decision, actor)
            locked.status = TransactionStatus.MATCHED
            locked.matched_at = timezone.now()
            counts["matched"] += 1
        else:
            locked.status = TransactionStatus.REVIEW
            counts["review"] += 1
        locked.save(update_fields=["candidates", "status", "matched_at", "customer"])
        event_record(
            name="bank.transaction.matched" if decision is not None else "bank.transaction.queued",
            organisation=organisation,
            actor=actor,
            subject=locked,
            customer=locked.customer,
            after={
                "amount": str(locked.amount),
                "status": locked.status,
                "candidates": locked.candidates[:5],
            },
        )


def _match_incoming(
    organisation: Organisation,
    incoming: Sequence[Pending],
    counts: Counter[str],
    *,
    actor: Any,
    threshold: int,
) -> None:
    """Decide every line (the matcher consumes what each match books, so later lines see the
    open amounts left), then book the decisions in chunks of `BOOK_CHUNK` lines, each chunk in
    one database transaction. A chunk that fails is booked again line by line."""
    lines = [line_for(tx) for tx in incoming]
    matcher = Matcher(organisation, lines)
    decided: list[_Decided] = []
    for tx, line in zip(incoming, lines, strict=True):
        candidates = matcher.candidates(line)
        decision = matching.decide(candidates, threshold=threshold)
        if decision is not None:
            matcher.consume(decision)
        decided.append((tx, candidates, decision))
    del lines, matcher
    workers = _booking_workers(len(decided))
    if workers == 1:
        _book_decided(organisation, decided, counts, actor)
        return
    # Disjoint customers per worker, each in the lines' order: a customer's payments are booked
    # by one connection in the order one worker would book them.
    parts: list[list[_Decided]] = [[] for _ in range(workers)]
    for one in decided:
        decision = one[2]
        key = decision.customer_id if decision is not None else one[0].pk
        parts[key % workers].append(one)
    part_counts = [Counter[str]() for _ in parts]
    failures: list[BaseException] = []
    language = translation.get_language()  # a thread starts in the default language

    def work(part: list[_Decided], part_count: Counter[str]) -> None:
        try:
            with translation.override(language):
                _book_decided(organisation, part, part_count, actor)
        except BaseException as error:  # raised again in the calling thread
            failures.append(error)
        finally:
            connections.close_all()  # this thread's own connections

    threads = [
        threading.Thread(target=work, args=(part, part_count), name=f"bank-booking-{index}")
        for index, (part, part_count) in enumerate(zip(parts, part_counts, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for part_count in part_counts:
        counts.update(part_count)
    if failures:
        raise failures[0]


def _booking_workers(lines: int) -> int:
    """How many database connections book a run's decided lines at once: the setting
    `BANK_MATCH_WORKERS` (default `BOOK_WORKERS`) on PostgreSQL when there is more than one
    chunk to book, else one. Inside an outer transaction (a request, a test) always one: other
    connections would not see its uncommitted rows."""
    if connection.vendor != "postgresql" or connection.in_atomic_block or lines <= BOOK_CHUNK:
        return 1
    return max(1, int(getattr(settings, "BANK_MATCH_WORKERS", BOOK_WORKERS)))


def _book_decided(
    organisation: Organisation, decided: Sequence[_Decided], counts: Counter[str], actor: Any
) -> None:
    """Book decided lines in chunks of `BOOK_CHUNK`, each chunk in one database transaction; a
    chunk that fails is booked again line by line."""
    for chunk in _chunks(decided, BOOK_CHUNK):
        chunk_counts: Counter[str] = Counter()
        try:
            with transaction.atomic():
                _book_chunk(organisation, chunk, chunk_counts, actor)
        except Exception:  # the chunk was rolled back; line by line finds (and raises) the culprit
            for one in chunk:
                _book_one(organisation, one, counts, actor)
        else:
            counts.update(chunk_counts)


def transactions_match(
    *,
    organisation: Organisation,
    transaction_ids: Sequence[int] | None = None,
    actor: Any = None,
    threshold: int = matching.AUTO_BOOK_THRESHOLD,
) -> dict[str, int]:
    """Match unmatched incoming EUR transactions: book the unambiguous ones above `threshold`
    through the payments service, put the rest in the review queue, handle returns.

    The matches are booked set-based through `payments_register_bulk`, a chunk of lines per
    database transaction; a chunk that fails is booked again one line per database transaction,
    so one failure never undoes the others. Returns counts per outcome.
    """
    from betaald.payments.services import among

    queryset = BankTransaction.objects.filter(
        organisation=organisation, status=TransactionStatus.UNMATCHED
    ).order_by("booking_date", "pk")
    if transaction_ids is not None:
        queryset = queryset.filter(among(BankTransaction, "id", transaction_ids))
    pending = [Pending(*row) for row in queryset.values_list(*_PENDING_FIELDS)]
    counts: Counter[str] = Counter()
    if not pending:
        return {}
    incoming = [tx for tx in pending if not tx.is_return and tx.is_credit]
    if incoming:
        _match_incoming(organisation, incoming, counts, actor=actor, threshold=threshold)
    # Returns after the payments: a collection and its return in one file find each other.
    for tx in pending:
        if tx.is_return:
            counts[return_process(transaction_id=tx.pk, actor=actor)] += 1
    return dict(counts)


def review_rematch(*, organisation: Organisation, actor: Any = None) -> dict[str, int]:
    """Match the review queue again (after IBANs were learned or invoices issued): lines that
    are now unambiguous are booked, the others stay in the queue with fresh candidates."""
    ids = list(
        BankTransaction.objects.filter(
            organisation=organisation, status=TransactionStatus.REVIEW, is_return=False
        ).values_list("pk", flat=True)
    )
    BankTransaction.objects.filter(pk__in=ids).update(status=TransactionStatus.UNMATCHED)
    return transactions_match(organisation=organisation, transaction_ids=ids, actor=actor)


def _review_transaction(
    organisation: Organisation, transaction_id: int, *, dismissing: bool = False
) -> BankTransaction:
    tx = (
        BankTransaction.objects.select_for_update()
        .filter(organisation=organisation, pk=transaction_id)
        .first()
    )
    if tx is None:
        raise ReviewError("no such bank transaction", field="transaction")
    if dismissing and tx.status == TransactionStatus.RETURN_REVIEW:
        return tx  # a return nobody can trace to a payment of ours
    if tx.status not in (TransactionStatus.REVIEW, TransactionStatus.UNMATCHED):
        raise ReviewError(
            "the transaction is %(status)s, not waiting for review",
            field="transaction",
            params={"status": str(tx.get_status_display()).lower()},
        )
    if tx.currency != MATCHABLE_CURRENCY or not tx.is_credit:
        raise ReviewError("only incoming EUR transactions can be booked", field="transaction")
    return tx


@transaction.atomic
def transaction_accept(
    *,
    organisation: Organisation,
    transaction_id: int,
    candidate_index: int,
    actor: Any = None,
) -> BankTransaction:
    """Book a review-queue transaction as its candidate number `candidate_index` proposes; the
    counterparty IBAN is learned on the customer."""
    tx = _review_transaction(organisation, transaction_id)
    if not 0 <= candidate_index < len(tx.candidates):
        raise ReviewError("no such candidate", field="candidate")
    candidate = tx.candidates[candidate_index]
    _book_candidate(tx, candidate, actor)
    _learn_iban(tx, int(candidate["customer_id"]), actor)
    tx.status = TransactionStatus.ACCEPTED
    tx.matched_at = timezone.now()
    tx.save(update_fields=["status", "matched_at", "customer"])
    event_record(
        name="bank.transaction.accepted",
        organisation=organisation,
        actor=actor,
        subject=tx,
        customer=tx.customer,
        after={"candidate": candidate, "amount": str(tx.amount)},
    )
    return tx


@transaction.atomic
def transaction_split(
    *,
    organisation: Organisation,
    transaction_id: int,
    customer_id: int,
    parts: Sequence[tuple[int, Decimal]],
    actor: Any = None,
) -> BankTransaction:
    """Book one bank transaction as several payments of one customer, each designated to an
    invoice (art. 6:43 lid 1 BW: the debtor's designation); the parts must add up exactly."""
    from betaald.invoices.models import Invoice

    tx = _review_transaction(organisation, transaction_id)
    if not parts:
        raise ReviewError("give at least one invoice and amount", field="parts")
    total = sum((amount for _, amount in parts), Decimal("0"))
    if any(amount <= 0 for _, amount in parts):
        raise ReviewError("every part must be a positive amount", field="parts")
    if total != tx.amount:
        raise ReviewError(
            "the parts add up to %(total)s, the transaction is %(amount)s",
            field="parts",
            params={"total": total, "amount": tx.amount},
        )
    invoice_ids = [invoice_id for invoice_id, _ in parts]
    invoices = Invoice.objects.filter(
        organisation=organisation, customer_id=customer_id, pk__in=invoice_ids
    )
    if invoices.count() != len(set(invoice_ids)):
        raise ReviewError("every invoice must be one of this customer's", field="parts")
    for invoice_id, amount in parts:
        _register_payment(
            tx=tx,
            customer_id=customer_id,
            amount=amount,
            designated_invoice_id=invoice_id,
            actor=actor,
        )
    _learn_iban(tx, customer_id, actor)
    tx.customer_id = customer_id
    tx.status = TransactionStatus.ACCEPTED
    tx.matched_at = timezone.now()
    tx.save(update_fields=["status", "matched_at", "customer"])
    event_record(
        name="bank.transaction.split",
        organisation=organisation,
        actor=actor,
        subject=tx,
        customer=tx.customer,
        after={"parts": [[invoice_id, str(amount)] for invoice_id, amount in parts]},
    )
    return tx


@transaction.atomic
def transaction_not_ours(
    *, organisation: Organisation, transaction_id: int, actor: Any = None
) -> BankTransaction:
    """Mark a transaction as not a payment of any customer (or a return as nothing of ours):
    it leaves the review queue."""
    tx = _review_transaction(organisation, transaction_id, dismissing=True)
    tx.status = TransactionStatus.NOT_OURS
    tx.save(update_fields=["status"])
    event_record(
        name="bank.transaction.not_ours",
        organisation=organisation,
        actor=actor,
        subject=tx,
        after={"amount": str(tx.amount), "counterparty": tx.counterparty_name},
    )
    return tx


# --- returns (R-transactions) -----------------------------------------------------------


def _payment_for_return(tx: BankTransaction) -> Any:
    """The payment a return undoes: booked from a transaction with the same end-to-end id (or
    mandate), else from the same counterparty IBAN and amount."""
    from betaald.payments.models import Payment

    earlier = BankTransaction.objects.filter(
        organisation=tx.organisation, is_return=False, payments__isnull=False
    ).exclude(pk=tx.pk)
    if tx.end_to_end_id:
        found = earlier.filter(end_to_end_id=tx.end_to_end_id).first()
        if found is not None:
            return found.payments.filter(reverses__isnull=True).first()
    if tx.counterparty_iban:
        return (
            Payment.objects.filter(
                organisation=tx.organisation,
                counterparty_iban=tx.counterparty_iban,
                amount=tx.amount,
                reverses__isnull=True,
                reversed_by__isnull=True,
            )
            .order_by("-received_on", "-pk")
            .first()
        )
    return None


def return_process(*, transaction_id: int, actor: Any = None) -> str:
    """Handle an R-transaction: reverse the payment it undoes through the payments service when
    that service offers a reversal and the payment is found, else queue it for review."""
    with transaction.atomic():
        tx = BankTransaction.objects.select_for_update().get(pk=transaction_id)
        if tx.status != TransactionStatus.UNMATCHED or not tx.is_return:
            return "skipped"
        from betaald.payments import services as payment_services

        reverse = getattr(payment_services, "payment_reverse", None)
        payment = _payment_for_return(tx) if tx.currency == MATCHABLE_CURRENCY else None
        if reverse is not None and payment is not None:
            reversal = reverse(
                payment=payment,
                on=tx.booking_date or timezone.localdate(),
                reason=f"bank return {tx.return_reason}".strip(),
                actor=actor,
            )
            tx.payments.add(reversal)
            tx.customer_id = payment.customer_id
            tx.status = TransactionStatus.RETURN_REVERSED
            outcome = "return_reversed"
        else:
            tx.status = TransactionStatus.RETURN_REVIEW
            outcome = "return_review"
        tx.save(update_fields=["status", "customer"])
        mandate_action = "none"
        if tx.mandate_id and tx.return_reason:
            from betaald.bank.sepa import mandate_after_return

            mandate_action = mandate_after_return(
                organisation=tx.organisation,
                mandate_reference=tx.mandate_id,
                reason=tx.return_reason,
                actor=actor,
            )
        event_record(
            name="bank.transaction.returned",
            organisation=tx.organisation,
            actor=actor,
            subject=tx,
            customer=tx.customer,
            after={
                "amount": str(tx.amount),
                "reason": tx.return_reason,
                "status": tx.status,
                "payment": payment.pk if payment is not None else None,
                "mandate_action": mandate_action,
            },
        )
        return outcome
