"""`betaald bank import FILE [--dry-run] [--json] [--organisation ID|KVK|NAME]`.

The dry run parses and validates without touching the database (unless --organisation is given,
to also warn about accounts that are not the organisation's) and prints exactly the summary
issue 7 specifies; warnings go to stderr.

Exit codes: 0 done; 2 the file cannot be read (malformed, truncated, wrong namespace, XXE,
unknown format), with one line naming the file and the place; 3 a statement is for an account
that is not the organisation's (the IBAN is named); 4 the very same file was imported before
(nothing changed).
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from betaald.bank.statements import (
    CsvMapping,
    StatementFileError,
    file_warnings,
    parse_file,
    summarise,
)

EXIT_UNREADABLE = 2
EXIT_REFUSED = 3
EXIT_DUPLICATE = 4


class Command(BaseCommand):
    help = (
        "Bank statements: `bank import FILE` (camt.053, MT940, CSV); SEPA direct debit: "
        "`bank direct-debit --organisation X --collection-date D|first`."
    )
    requires_system_checks: list[str] = []  # the dry run needs no database and no checks
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        importer = sub.add_parser(
            "import",
            help="Import a statement file (camt.053 XML, MT940, or CSV with a mapping).",
        )
        importer.add_argument("file", help="The statement file.")
        importer.add_argument(
            "--dry-run",
            action="store_true",
            help="Parse and validate only; nothing is saved and no database is needed.",
        )
        importer.add_argument(
            "--json", action="store_true", help="Print the summary as JSON on stdout."
        )
        importer.add_argument(
            "--organisation",
            help="The organisation (id, KvK number or name) that owns the account.",
        )
        importer.add_argument(
            "--csv-mapping",
            help="A JSON file with the CSV column mapping (or the name of a saved mapping).",
        )
        importer.add_argument(
            "--no-match",
            action="store_true",
            help="Import without running the automatic matching afterwards.",
        )
        debit = sub.add_parser(
            "direct-debit",
            help=(
                "Collect open invoices and due payment-plan instalments of customers with a "
                "mandate into a pain.008 file; each customer gets a pre-notification."
            ),
        )
        debit.add_argument("--organisation", required=True, help="id, KvK number or name")
        debit.add_argument(
            "--collection-date",
            required=True,
            help=(
                "YYYY-MM-DD, or 'first': the first TARGET2 day after the longest "
                "pre-notification period of the active mandates (for a daily run)"
            ),
        )
        debit.add_argument("--date", help="today (YYYY-MM-DD), to replay a day")
        debit.add_argument("--scheme", default="CORE", choices=["CORE", "B2B"])
        debit.add_argument(
            "--version", default="pain.008.001.02", choices=["pain.008.001.02", "pain.008.001.08"]
        )
        debit.add_argument("--output", help="write the XML here instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "direct-debit":
            self._direct_debit(options)
            return
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(
                f"{path}: cannot read the file: {error.strerror or error}",
                returncode=EXIT_UNREADABLE,
            ) from None
        mapping = self._csv_mapping(options.get("csv_mapping"), options.get("organisation"))
        try:
            parsed = parse_file(data, filename=path.name, csv_mapping=mapping)
        except StatementFileError as error:
            line = " ".join(f"{path}: {error}".split())  # always one line
            raise CommandError(line, returncode=EXIT_UNREADABLE) from None
        warnings = file_warnings(parsed)
        summary = summarise(parsed)
        if options["dry_run"]:
            if options.get("organisation"):
                warnings += self._unknown_accounts(summary["accounts"], options["organisation"])
            for warning in warnings:
                self.stderr.write(f"warning: {path}: {warning}")
            self._print(summary, as_json=options["json"])
            return
        self._import(path, data, parsed, warnings, options)

    def _direct_debit(self, options: dict[str, Any]) -> None:
        from datetime import date

        from django.utils import timezone

        from betaald.bank.sepa import (
            NothingToCollect,
            direct_debit_create,
            first_collection_on,
            longest_pre_notification,
        )
        from betaald.core.errors import DomainError

        organisation = self._organisation(options["organisation"])
        try:
            today = date.fromisoformat(options["date"]) if options.get("date") else None
            today = today or timezone.localdate()
            if options["collection_date"] == "first":
                collection_on = first_collection_on(
                    today, longest_pre_notification(organisation, options["scheme"])
                )
            else:
                collection_on = date.fromisoformat(options["collection_date"])
        except ValueError as error:
            raise CommandError(f"not a date: {error}") from None
        try:
            batch = direct_debit_create(
                organisation=organisation,
                collection_on=collection_on,
                today=today,
                scheme=options["scheme"],
                version=options["version"],
                actor="cli",
            )
        except NothingToCollect as error:
            if options["collection_date"] == "first":
                self.stderr.write(f"{error} on {collection_on}")  # a daily run moves on
                return
            raise CommandError(str(error)) from None
        except DomainError as error:
            raise CommandError(str(error)) from None
        if options.get("output"):
            Path(options["output"]).write_text(batch.xml, encoding="utf-8")
            self.stderr.write(
                f"{options['output']}: {batch.count} collection(s), EUR {batch.total}, "
                f"on {batch.collection_on}"
            )
        else:
            self.stdout.write(batch.xml)

    def _csv_mapping(self, value: str | None, organisation: str | None) -> CsvMapping | None:
        if not value:
            return None
        candidate = Path(value)
        if candidate.exists():
            try:
                raw = json.loads(candidate.read_text(encoding="utf-8"))
                return CsvMapping.from_dict(raw)
            except (ValueError, StatementFileError, TypeError) as error:
                raise CommandError(
                    f"{candidate}: not a valid CSV mapping: {error}", returncode=EXIT_UNREADABLE
                ) from None
        from betaald.bank.models import CsvMapping as SavedMapping

        saved = SavedMapping.objects.filter(name=value)
        if organisation:
            saved = saved.filter(organisation=self._organisation(organisation))
        found = saved.first()
        if found is None:
            raise CommandError(f"no CSV mapping file or saved mapping named {value!r}")
        return CsvMapping.from_dict(found.mapping)

    def _unknown_accounts(self, accounts: list[str], organisation: str) -> list[str]:
        from betaald.bank.models import BankAccount
        from betaald.bank.services import normalise_account

        owner = self._organisation(organisation)
        known = {normalise_account(a.iban) for a in BankAccount.objects.filter(organisation=owner)}
        known.add(normalise_account(owner.iban or ""))
        return [
            f"account {account} is not a bank account of {owner.display_name}: a real import "
            "would be refused"
            for account in accounts
            if normalise_account(account) not in known
        ]

    def _print(self, summary: dict[str, Any], *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(
            f"{summary['format']}: {summary['statements']} statement(s), "
            f"{summary['entries']} entries, {summary['transactions']} transactions, "
            f"{summary['returns']} return(s)"
        )
        for currency, sides in summary["totals"].items():
            self.stdout.write(f"  {currency}: credit {sides['credit']}, debit {sides['debit']}")
        self.stdout.write(f"  accounts: {', '.join(summary['accounts']) or '-'}")

    def _organisation(self, value: str) -> Any:
        from django.db.models import Q

        from betaald.organisations.models import Organisation

        query = Q(kvk_number=value) | Q(legal_name__iexact=value) | Q(trade_name__iexact=value)
        if value.isdigit():
            query |= Q(pk=int(value))
        found = list(Organisation.objects.filter(query)[:2])
        if len(found) != 1:
            raise CommandError(
                f"organisation {value!r} "
                + ("is ambiguous" if found else "not found (give its id, KvK number or name)")
            )
        return found[0]

    def _import(
        self,
        path: Path,
        data: bytes,
        parsed: Any,
        warnings: list[str],
        options: dict[str, Any],
    ) -> None:
        from betaald.bank.services import (
            AccountNotOwned,
            DuplicateFile,
            statement_file_import,
            transactions_match,
        )

        if not options.get("organisation"):
            raise CommandError("a real import needs --organisation (or use --dry-run)")
        organisation = self._organisation(options["organisation"])
        try:
            result = statement_file_import(
                organisation=organisation,
                parsed=parsed,
                data=data,
                filename=path.name,
                warnings=warnings,
                actor="cli",
            )
        except AccountNotOwned as error:
            raise CommandError(f"{path}: {error}", returncode=EXIT_REFUSED) from None
        except DuplicateFile as error:
            raise CommandError(f"{path}: {error.message}", returncode=EXIT_DUPLICATE) from None
        for warning in warnings:
            self.stderr.write(f"warning: {path}: {warning}")
        matched: dict[str, int] = {}
        if not options.get("no_match") and result.transaction_ids:
            matched = transactions_match(
                organisation=organisation, transaction_ids=result.transaction_ids, actor="cli"
            )
        report = {
            **self._summary_for(parsed),
            "statements_created": result.statements_created,
            "transactions_created": result.transactions_created,
            "duplicates": result.duplicates,
            "matching": matched,
        }
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(
                f"{path}: {result.statements_created} statement(s) and "
                f"{result.transactions_created} transaction(s) imported, "
                f"{result.duplicates} already known"
            )
            if matched:
                self.stdout.write(
                    "matching: " + ", ".join(f"{k} {v}" for k, v in sorted(matched.items()))
                )
        sys.stdout.flush()

    @staticmethod
    def _summary_for(parsed: Any) -> dict[str, Any]:
        return summarise(parsed)
