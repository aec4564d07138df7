"""`betaald bank import FILE --dry-run --json`: the issue 7 JSON on stdout, warnings on stderr,
exit code 2 with one line naming the file and the place for unreadable files, no database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.bank.test_statements_hostile import BILLION_LAUGHS, XXE
from tests.bank.test_statements_real_files import EXPECTED

REALDATA = Path(settings.SHARED_DIR) / "realdata"
ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, database_url: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "betaald.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def dry_run(path: Path) -> tuple[dict, str]:
    out, err = StringIO(), StringIO()
    call_command("bank", "import", str(path), "--dry-run", "--json", stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_dry_run_json_of_every_real_file(relative):
    summary, _ = dry_run(REALDATA / relative)
    assert summary == EXPECTED[relative]
    assert list(summary) == [
        "format",
        "statements",
        "entries",
        "transactions",
        "totals",
        "returns",
        "accounts",
    ]


def test_dry_run_json_is_one_line_in_the_issues_format():
    out = StringIO()
    path = REALDATA / "mt940/ing_mt940_sepa-structured_returns.940"
    call_command("bank", "import", str(path), "--dry-run", "--json", stdout=out, stderr=StringIO())
    assert (
        out.getvalue() == json.dumps(EXPECTED["mt940/ing_mt940_sepa-structured_returns.940"]) + "\n"
    )


def test_dry_run_warnings_go_to_stderr_naming_the_file():
    path = REALDATA / "camt053/abnamro-style_camt053-001-02_dd-batch-returns.xml"
    _, err = dry_run(path)
    lines = err.strip().splitlines()
    assert lines
    assert all(line.startswith(f"warning: {path}: ") for line in lines)
    assert any("balances do not add up" in line for line in lines)


def test_dry_run_without_json_prints_a_readable_summary():
    out = StringIO()
    path = REALDATA / "mt940/ing_mt940_sepa-structured_returns.940"
    call_command("bank", "import", str(path), "--dry-run", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "mt940: 1 statement(s), 8 entries, 8 transactions, 2 return(s)" in text
    assert "EUR: credit 36.58, debit 134.46" in text


def test_unreadable_file_raises_command_error_with_exit_code_2(tmp_path):
    path = tmp_path / "evil.xml"
    path.write_bytes(XXE)
    with pytest.raises(CommandError) as caught:
        call_command("bank", "import", str(path), "--dry-run", "--json")
    assert caught.value.returncode == 2
    assert str(caught.value).startswith(f"{path}: line 2: ")


def test_a_missing_file_exits_with_code_2(tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command("bank", "import", str(tmp_path / "nope.xml"), "--dry-run")
    assert caught.value.returncode == 2


def test_cli_exit_code_2_and_one_line_for_billion_laughs(tmp_path):
    path = tmp_path / "lol.xml"
    path.write_bytes(BILLION_LAUGHS)
    result = run_cli("bank", "import", str(path), "--dry-run", "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0]
    assert "line 2" in lines[0]


def test_cli_exit_code_2_for_truncated_mt940(tmp_path):
    text = (REALDATA / "mt940/triodos_mt940_iban.txt").read_text()
    path = tmp_path / "cut.txt"
    path.write_text(text[: text.index(":62F:")])
    result = run_cli("bank", "import", str(path), "--dry-run", "--json")
    assert result.returncode == 2
    assert "cut.txt: line " in result.stderr
    assert "without a :62F: closing balance" in result.stderr


def test_cli_dry_run_needs_no_database():
    path = REALDATA / "camt053/rabobank_camt053-001-02_real-export.xml"
    result = run_cli(
        "bank",
        "import",
        str(path),
        "--dry-run",
        "--json",
        database_url="postgres://nobody@127.0.0.1:9/no_such_database",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == EXPECTED["camt053/rabobank_camt053-001-02_real-export.xml"]


def test_dry_run_reads_csv_with_a_mapping_file(tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "booking_date": "Datum",
                "amount": "Bedrag",
                "account": "Rekening",
                "counterparty_name": "Naam",
                "counterparty_iban": "Tegenrekening",
                "remittance": "Omschrijving",
                "direction": "Af Bij",
                "credit_values": ["Bij"],
                "delimiter": ";",
                "decimal_comma": True,
                "date_format": "%d-%m-%Y",
            }
        )
    )
    statement = tmp_path / "export.csv"
    statement.write_text(
        "Datum;Rekening;Naam;Tegenrekening;Af Bij;Bedrag;Omschrijving\n"
        "02-01-2026;NL91ABNA0417164300;Jansen BV;NL02ABNA0123456789;Bij;1.210,00;"
        "factuur 2026-0001\n"
        "03-01-2026;NL91ABNA0417164300;KPN;NL44RABO0123456789;Af;45,50;abonnement\n"
    )
    out = StringIO()
    call_command(
        "bank",
        "import",
        str(statement),
        "--dry-run",
        "--json",
        "--csv-mapping",
        str(mapping),
        stdout=out,
        stderr=StringIO(),
    )
    assert json.loads(out.getvalue()) == {
        "format": "csv",
        "statements": 1,
        "entries": 2,
        "transactions": 2,
        "totals": {"EUR": {"credit": "1210.00", "debit": "45.50"}},
        "returns": 0,
        "accounts": ["NL91ABNA0417164300"],
    }
