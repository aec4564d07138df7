"""`betaald calc`: interest, rates, collection costs, deadlines, allocation, statements, checks.

A readable table by default, the JSON contract of issue 4 with `--json`. Bad input gives exit
code 2 and one line on stderr naming the field (argparse's multi-line usage errors are
replaced); never a traceback. See docs/algorithms/*.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Any, NoReturn, TextIO

from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    handle_default_options,
)
from django.db import connections

from betaald.calculator import calculations
from betaald.core.errors import DomainError
from betaald.core.rates import StaleRate

INPUT_ERROR = 2

OPTION_NAMES = {
    "interest": {"kind": "--kind", "principal": "--principal", "from": "--from", "to": "--to"},
    "rate": {"kind": "--kind", "on": "--on"},
    "deadline": {"sent": "--sent", "delivered": "--delivered"},
}


class CalcInputError(CommandError):
    """Bad input: one line on stderr, exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=INPUT_ERROR)


class OneLineParser(CommandParser):
    """An argparse parser whose errors are one line (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise CalcInputError(message.replace("argument ", "", 1))


class Command(BaseCommand):
    help = (
        "Legal calculations: statutory/commercial interest (art. 6:119/6:119a BW), rates, "
        "collection costs (art. 6:96 BW), the 14-day term, payment allocation (art. 6:43/6:44 "
        "BW), claim statements and identifier checks. Add --json for machine-readable output."
    )
    requires_system_checks: list[str] = []
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.__class__ = OneLineParser  # one-line errors, also for the subparsers below
        parser.add_argument("--json", action="store_true", help="print JSON")
        sub = parser.add_subparsers(dest="calculation", metavar="CALCULATION", required=True)

        def add(name: str, help_text: str) -> CommandParser:
            child: CommandParser = sub.add_parser(name, help=help_text, description=help_text)
            child.add_argument(
                "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON"
            )
            return child

        kinds = ", ".join(calculations.KINDS)
        interest = add(
            "interest", "Statutory or commercial interest, first and last day inclusive."
        )
        interest.add_argument("--kind", required=True, help=kinds)
        interest.add_argument("--principal", required=True, help="e.g. 1000.00")
        interest.add_argument("--from", dest="first_day", required=True, help="first day")
        interest.add_argument("--to", dest="last_day", required=True, help="last day")
        interest.add_argument("--simple", action="store_true", help="no capitalisation")
        interest.add_argument(
            "--allow-stale", action="store_true", help="use the last rate after the table's end"
        )

        rate = add("rate", "The statutory or commercial yearly rate on a day.")
        rate.add_argument("--kind", required=True, help=kinds)
        rate.add_argument("--on", required=True, help="YYYY-MM-DD")
        rate.add_argument("--allow-stale", action="store_true")

        costs = add("costs", "Collection costs (BIK staffel) on the sum of the principals.")
        costs.add_argument("--principal", action="append", required=True, help="repeatable")
        costs.add_argument("--vat", action="store_true", help="the creditor cannot deduct VAT")

        deadline = add("deadline", "Presumed receipt and the 14-day term of art. 6:96 lid 6 BW.")
        deadline.add_argument("--sent", required=True, help="posting date")
        deadline.add_argument("--delivered", help="delivery date of an e-mail with proof")

        allocate = add("allocate", "Allocate a payment over claims (JSON on stdin).")
        allocate.add_argument("--input", default="-", help="a JSON file; - is stdin")

        statement = add("statement", "A claim statement (rentenota) (JSON on stdin).")
        statement.add_argument("--input", default="-", help="a JSON file; - is stdin")
        statement.add_argument("--allow-stale", action="store_true")

        check = add("check", "Validate and normalise an identifier.")
        check.add_argument("--kind", required=True, help=", ".join(calculations.CHECK_KINDS))
        check.add_argument("value")

    def run_from_argv(self, argv: list[str]) -> None:
        """Like Django's, but parse errors and domain errors are one line and exit code 2."""
        self._called_from_command_line = True
        try:
            parser = self.create_parser(argv[0], argv[1])
            options = parser.parse_args(argv[2:])
            cmd_options = vars(options)
            args = cmd_options.pop("args", ())
            handle_default_options(options)
            self.execute(*args, **cmd_options)
        except CommandError as error:
            self.stderr.write(f"error: {error}")
            sys.exit(error.returncode)
        finally:
            connections.close_all()

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except StaleRate as error:
            raise CalcInputError(f"{error} (or pass --allow-stale to use the last rate)") from None
        except DomainError as error:
            raise CalcInputError(str(error)) from None
        except CommandError:
            raise
        except Exception as error:  # never a traceback on the command line
            if options.get("traceback"):
                raise
            raise CommandError(f"internal error: {error}", returncode=1) from None

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["calculation"]
        result = getattr(self, f"calc_{name}")(options)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
        else:
            self.stdout.write(getattr(self, f"show_{name}")(options, result))

    # --- calculations ---------------------------------------------------------------------

    def _read_json(self, options: dict[str, Any]) -> object:
        path = options["input"]
        stream: TextIO = options.get("stdin") or sys.stdin
        try:
            if path == "-":
                text = stream.read()
            else:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
        except OSError as error:
            raise CalcInputError(f"--input: cannot read {path}: {error.strerror}") from None
        try:
            return json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise CalcInputError(
                f"input: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
            ) from None

    def calc_interest(self, options: dict[str, Any]) -> dict[str, Any]:
        return calculations.interest(
            kind=options["kind"],
            principal=options["principal"],
            first_day=options["first_day"],
            last_day=options["last_day"],
            simple=options["simple"],
            allow_stale=options["allow_stale"],
            fields=OPTION_NAMES["interest"],
        )

    def calc_rate(self, options: dict[str, Any]) -> dict[str, Any]:
        return calculations.rate(
            kind=options["kind"],
            on=options["on"],
            allow_stale=options["allow_stale"],
            fields=OPTION_NAMES["rate"],
        )

    def calc_costs(self, options: dict[str, Any]) -> dict[str, Any]:
        return calculations.costs(
            principals=options["principal"], vat=options["vat"], field="--principal"
        )

    def calc_deadline(self, options: dict[str, Any]) -> dict[str, Any]:
        return calculations.deadline(
            sent=options["sent"], delivered=options["delivered"], fields=OPTION_NAMES["deadline"]
        )

    def calc_allocate(self, options: dict[str, Any]) -> dict[str, Any]:
        return calculations.allocate(self._read_json(options))

    def calc_statement(self, options: dict[str, Any]) -> dict[str, Any]:
        return calculations.statement(self._read_json(options), allow_stale=options["allow_stale"])

    def calc_check(self, options: dict[str, Any]) -> dict[str, Any]:
        return calculations.check(kind=options["kind"], value=options["value"])

    # --- readable output ------------------------------------------------------------------

    def show_interest(self, options: dict[str, Any], result: dict[str, Any]) -> str:
        article = "art. 6:119 BW" if options["kind"] == "statutory" else "art. 6:119a BW"
        lines = [
            f"{options['kind'].capitalize()} interest ({article}) on {options['principal']}, "
            f"{options['first_day']} to {options['last_day']} inclusive, {result['days']} days"
            + (", simple" if options["simple"] else ", capitalised yearly"),
            "",
            f"{'From':<12}{'To':<12}{'Interest':>14}  Capitalised",
        ]
        for row in result["years"]:
            lines.append(
                f"{row['from']:<12}{row['to']:<12}{row['interest']:>14}  "
                f"{'yes' if row['capitalised'] else 'no'}"
            )
        lines += [
            "",
            f"{'Interest':<24}{result['interest']:>14}",
            f"{'Total':<24}{result['total']:>14}",
        ]
        return "\n".join(lines)

    def show_rate(self, options: dict[str, Any], result: dict[str, Any]) -> str:
        kind = options["kind"].capitalize()
        return f"{kind} interest rate on {options['on']}: {result['percent']} % a year"

    def show_costs(self, options: dict[str, Any], result: dict[str, Any]) -> str:
        rows = [
            ("Principal (sum)", result["principal"]),
            ("Collection costs", result["costs"]),
            ("VAT", result["vat"]),
            ("Total costs", result["total"]),
        ]
        return "\n".join(f"{label:<20}{value:>14}" for label, value in rows)

    def show_deadline(self, options: dict[str, Any], result: dict[str, Any]) -> str:
        rows = [
            ("Sent", options["sent"]),
            ("Receipt", result["presumed_receipt"]),
            ("Term first day", result["term_first_day"]),
            ("Term last day", result["term_last_day"]),
            ("Costs due from", result["costs_due_from"]),
        ]
        return "\n".join(f"{label:<18}{value}" for label, value in rows)

    def show_allocate(self, options: dict[str, Any], result: dict[str, Any]) -> str:
        lines = [f"{'Claim':<16}{'Costs':>12}{'Interest':>12}{'Principal':>14}"]
        for claim_id, part in result["claims"].items():
            lines.append(
                f"{claim_id:<16}{part['costs']:>12}{part['interest']:>12}{part['principal']:>14}"
            )
        lines.append(f"{'Unapplied':<16}{result['unapplied']:>38}")
        return "\n".join(lines)

    def show_statement(self, options: dict[str, Any], result: dict[str, Any]) -> str:
        lines = [
            f"{'Date':<12}{'Event':<16}{'Costs':>12}{'Interest':>12}{'Principal':>14}{'Unapplied':>12}"
        ]
        for event in result["events"]:
            if event["type"] == "capitalisation":
                lines.append(
                    f"{event['on']:<12}{'capitalisation':<16}{'':>12}{'':>12}{event['amount']:>14}"
                )
            else:
                lines.append(
                    f"{event['on']:<12}{'payment':<16}{event['costs']:>12}{event['interest']:>12}"
                    f"{event['principal']:>14}{event['unapplied']:>12}"
                )
        state = result["state"]
        lines += [
            "",
            f"State after {state['on']}:",
            f"{'Costs':<20}{state['costs']:>14}",
            f"{'Interest':<20}{state['interest']:>14}",
            f"{'Principal':<20}{state['principal']:>14}",
            f"{'Total':<20}{state['total']:>14}",
        ]
        return "\n".join(lines)

    def show_check(self, options: dict[str, Any], result: dict[str, Any]) -> str:
        if result["valid"]:
            return f"valid {options['kind']}: {result['normalised']}"
        return f"invalid {options['kind']}: {result['error']}"
