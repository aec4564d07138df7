# ruff: noqa: E501
"""`betaald calc`: the JSON contract of issue 4, readable tables, and one-line errors (exit 2)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from betaald.calculator.management.commands.calc import Command

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

ALLOCATE_INPUT = {
    "payment": "600.00",
    "on": "2024-02-15",
    "designation": None,
    "claims": [
        {
            "id": "A",
            "due_on": "2024-01-31",
            "costs": "0.00",
            "interest": "2.40",
            "principal": "500.00",
            "rate": "12.50",
        }
    ],
}
STATEMENT_INPUT = {
    "kind": "statutory",
    "principal": "3000.00",
    "interest_from": "2014-05-29",
    "costs": "100.00",
    "payments": [{"on": "2014-12-12", "amount": "1500.00"}],
    "until": "2015-09-30",
}


def calc(*args, stdin=None):
    out = io.StringIO()
    options = {"stdout": out}
    if stdin is not None:
        options["stdin"] = io.StringIO(stdin)
    call_command("calc", *args, **options)
    return out.getvalue()


def calc_json(*args, stdin=None):
    return json.loads(calc(*args, "--json", stdin=stdin))


def test_interest_json():
    """Art. 6:119 lid 2 BW: yearly capitalisation; the last row is never capitalised."""
    result = calc_json(
        "interest", "--kind", "statutory", "--principal", "1000.00",
        "--from", "2019-03-15", "--to", "2024-06-29",
    )  # fmt: skip
    assert result["days"] == 1934
    assert (result["interest"], result["total"]) == ("171.44", "1171.44")
    assert result["years"][0] == {
        "from": "2019-03-15",
        "to": "2020-03-14",
        "interest": "20.05",
        "capitalised": True,
    }
    assert result["years"][-1] == {
        "from": "2024-03-15",
        "to": "2024-06-29",
        "interest": "23.56",
        "capitalised": False,
    }
    assert list(result) == ["days", "interest", "total", "years"]


def test_simple_interest_is_one_row():
    result = calc_json(
        "interest", "--kind", "statutory", "--principal", "1000.00",
        "--from", "2019-03-15", "--to", "2024-06-29", "--simple",
    )  # fmt: skip
    assert result == {
        "days": 1934,
        "interest": "160.85",
        "total": "1160.85",
        "years": [
            {"from": "2019-03-15", "to": "2024-06-29", "interest": "160.85", "capitalised": False}
        ],
    }


def test_a_full_year_ending_on_to_is_not_capitalised():
    result = calc_json(
        "interest", "--kind", "commercial", "--principal", "1000.00",
        "--from", "2023-01-01", "--to", "2023-12-31",
    )  # fmt: skip
    assert result["years"] == [
        {"from": "2023-01-01", "to": "2023-12-31", "interest": "112.56", "capitalised": False}
    ]


def test_rate_costs_deadline_json():
    assert calc_json("rate", "--kind", "commercial", "--on", "2013-03-15") == {"percent": "7.75"}
    assert calc_json("rate", "--kind", "statutory", "--on", "2015-01-01") == {"percent": "2.00"}
    assert calc_json("costs", "--principal", "1800.00", "--principal", "1200.00") == {
        "principal": "3000.00",
        "costs": "425.00",
        "vat": "0.00",
        "total": "425.00",
    }
    assert calc_json("costs", "--principal", "3000.00", "--vat") == {
        "principal": "3000.00",
        "costs": "425.00",
        "vat": "89.25",
        "total": "514.25",
    }
    assert calc_json("deadline", "--sent", "2024-03-05") == {
        "presumed_receipt": "2024-03-07",
        "term_first_day": "2024-03-08",
        "term_last_day": "2024-03-21",
        "costs_due_from": "2024-03-22",
    }
    emailed = calc_json("deadline", "--sent", "2024-03-05", "--delivered", "2024-03-05")
    assert emailed["term_last_day"] == "2024-03-19"


def test_json_may_come_before_the_calculation():
    out = io.StringIO()
    call_command("calc", "--json", "rate", "--kind", "commercial", "--on", "2024-01-01", stdout=out)
    assert json.loads(out.getvalue()) == {"percent": "12.50"}


def test_allocate_json():
    """Art. 6:44 lid 1 BW: costs, interest, principal; the surplus is unapplied."""
    assert calc_json("allocate", stdin=json.dumps(ALLOCATE_INPUT)) == {
        "claims": {"A": {"costs": "0.00", "interest": "2.40", "principal": "500.00"}},
        "unapplied": "97.60",
    }


def test_allocate_reads_numbers_without_floats_and_from_a_file(tmp_path):
    document = dict(ALLOCATE_INPUT, payment=100)
    path = tmp_path / "input.json"
    path.write_text(json.dumps(document).replace('"2.40"', "2.40"), encoding="utf-8")
    result = calc_json("allocate", "--input", str(path))
    assert result["claims"]["A"] == {"costs": "0.00", "interest": "2.40", "principal": "97.60"}


def test_statement_json():
    """The rentenota of the issue: payment split, capitalisation, state on `until`."""
    assert calc_json("statement", stdin=json.dumps(STATEMENT_INPUT)) == {
        "events": [
            {
                "on": "2014-12-12",
                "type": "payment",
                "costs": "100.00",
                "interest": "48.82",
                "principal": "1351.18",
                "unapplied": "0.00",
            },
            {"on": "2015-05-29", "type": "capitalisation", "amount": "15.95"},
        ],
        "state": {
            "on": "2015-09-30",
            "costs": "0.00",
            "interest": "11.40",
            "principal": "1664.77",
            "total": "1676.17",
        },
    }


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("kvk", "1234 56-78", {"valid": True, "normalised": "12345678", "error": None}),
        ("btw-id", "123456789B13", {"valid": True, "normalised": "NL123456789B13", "error": None}),
        ("btw-id", "1000007B01", {"valid": True, "normalised": "NL001000007B01", "error": None}),
        ("rsin", "111222333", {"valid": True, "normalised": "111222333", "error": None}),
        ("iban", "nl20 ingb 0001 2345 67", {"valid": True, "normalised": "NL20INGB0001234567", "error": None}),
        ("sepa-creditor-id", "NL69ZZZ123456780000", {"valid": True, "normalised": "NL69ZZZ123456780000", "error": None}),
    ],
)  # fmt: skip
def test_check_normalises_identifiers(kind, value, expected):
    """A missing NL or missing leading zeros of a BTW-id are typing slips; stored strictly."""
    assert calc_json("check", "--kind", kind, value) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("kvk", "1234567"),
        ("btw-id", "NL123456788B13"),
        ("rsin", "111222334"),
        ("iban", "NL20INGB0001234568"),
        ("sepa-creditor-id", "NL00ZZZ123456780000"),
    ],
)
def test_an_invalid_identifier_is_a_result_not_an_error(kind, value):
    result = calc_json("check", "--kind", kind, value)
    assert result["valid"] is False
    assert result["normalised"] is None
    assert result["error"]


def test_readable_tables():
    text = calc(
        "interest", "--kind", "statutory", "--principal", "1000.00",
        "--from", "2019-03-15", "--to", "2024-06-29",
    )  # fmt: skip
    assert "2019-03-15  2020-03-14           20.05  yes" in text
    assert "1171.44" in text
    assert "7.75 %" in calc("rate", "--kind", "commercial", "--on", "2013-03-15")
    assert "425.00" in calc("costs", "--principal", "3000.00")
    assert "2024-03-21" in calc("deadline", "--sent", "2024-03-05")
    assert "97.60" in calc("allocate", stdin=json.dumps(ALLOCATE_INPUT))
    statement = calc("statement", stdin=json.dumps(STATEMENT_INPUT))
    assert "capitalisation" in statement
    assert "1676.17" in statement
    assert calc("check", "--kind", "kvk", "12345678") == "valid kvk: 12345678\n"
    assert calc("check", "--kind", "kvk", "1").startswith("invalid kvk: ")


BAD = [
    (["interest", "--kind", "legal", "--principal", "1.00", "--from", "2020-01-01", "--to", "2020-02-01"], "--kind"),
    (["interest", "--kind", "statutory", "--principal", "-5.00", "--from", "2020-01-01", "--to", "2020-02-01"], "--principal"),
    (["interest", "--kind", "statutory", "--principal", "1e3", "--from", "2020-01-01", "--to", "2020-02-01"], "--principal"),
    (["interest", "--kind", "statutory", "--principal", "12,50", "--from", "2020-01-01", "--to", "2020-02-01"], "--principal"),
    (["interest", "--kind", "statutory", "--principal", "nan", "--from", "2020-01-01", "--to", "2020-02-01"], "--principal"),
    (["interest", "--kind", "statutory", "--principal", "1.005", "--from", "2020-01-01", "--to", "2020-02-01"], "--principal"),
    (["interest", "--kind", "statutory", "--principal", "1.00", "--from", "2020-13-01", "--to", "2020-02-01"], "--from"),
    (["interest", "--kind", "statutory", "--principal", "1.00", "--from", "20200101", "--to", "2020-02-01"], "--from"),
    (["interest", "--kind", "statutory", "--principal", "1.00", "--from", "2020-02-02", "--to", "2020-02-01"], "--to"),
    (["interest", "--kind", "statutory", "--principal", "1.00", "--from", "1991-01-01", "--to", "2020-02-01"], "--from"),
    (["interest", "--kind", "statutory", "--principal", "1.00", "--from", "2026-01-01", "--to", "2026-07-01"], "--to"),
    (["interest", "--kind", "statutory", "--principal", "1.00", "--from", "2026-07-01", "--to", "2026-07-02"], "--from"),
    (["interest", "--kind", "statutory", "--principal", "1.00", "--from", "2020-01-01"], "--to"),
    (["rate", "--kind", "commercial", "--on", "2002-08-07"], "--on"),
    (["rate", "--kind", "commercial", "--on", "tomorrow"], "--on"),
    (["costs", "--principal", "0.00"], "--principal"),
    (["costs", "--principal", "abc"], "--principal"),
    (["costs", "--principal", "١٢"], "--principal"),
    (["deadline", "--sent", "٢٠٢٤-03-05"], "--sent"),
    (["costs"], "--principal"),
    (["deadline", "--sent", "2024-02-30"], "--sent"),
    (["deadline", "--sent", "2024-03-05", "--delivered", "2024-03-04"], "--delivered"),
    (["check", "--kind", "bsn", "111222333"], "kind"),
    (["unknown"], "CALCULATION"),
    ([], "CALCULATION"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "field"), BAD)
def test_bad_input_is_exit_code_2_and_one_line_naming_the_field(args, field, capsys):
    command = Command()
    with pytest.raises(SystemExit) as exit_info:
        command.run_from_argv(["betaald", "calc", *args])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert field in lines[0]
    assert "Traceback" not in captured.err


BAD_JSON = [
    ("allocate", "{bad", "input"),
    ("allocate", "[]", "input"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, payment="-1.00")), "payment"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, payment=600.001)), "payment"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, on="15-02-2024")), "on"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, designation="Z")), "designation"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, designation=3)), "designation"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, claims={})), "claims"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, claims=[1])), "claims[0]"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, claims=[{"id": "A"}])), "claims[0].due_on"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, claims=[{"id": "", "due_on": "2024-01-01"}])), "claims[0].id"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, claims=[{"id": "A", "due_on": "2024-01-01", "rate": "high"}])), "claims[0].rate"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, claims=[{"id": "A", "due_on": "2024-01-01", "rate": True}])), "claims[0].rate"),
    ("allocate", json.dumps(dict(ALLOCATE_INPUT, claims=[{"id": "A", "due_on": "2024-01-01", "costs": None}])), "claims[0].costs"),
    ("allocate", json.dumps({k: v for k, v in ALLOCATE_INPUT.items() if k != "payment"}), "payment"),
    ("statement", json.dumps(dict(STATEMENT_INPUT, kind="legal")), "kind"),
    ("statement", json.dumps(dict(STATEMENT_INPUT, until="2014-05-01")), "until"),
    ("statement", json.dumps(dict(STATEMENT_INPUT, until="2026-12-31")), "until"),
    ("statement", json.dumps(dict(STATEMENT_INPUT, simple="yes")), "simple"),
    ("statement", json.dumps(dict(STATEMENT_INPUT, payments={})), "payments"),
    ("statement", json.dumps(dict(STATEMENT_INPUT, payments=[{"on": "2014-12-12"}])), "payments[0].amount"),
    ("statement", json.dumps(dict(STATEMENT_INPUT, payments=[{"on": "2014-12-12", "amount": "0.00"}])), "payments[0].amount"),
    ("statement", json.dumps(dict(STATEMENT_INPUT, payments=[{"on": "2016-12-12", "amount": "1.00"}])), "payments[0].on"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "document", "field"), BAD_JSON)
def test_bad_json_input_is_exit_code_2_and_names_the_field(
    name, document, field, capsys, monkeypatch
):
    monkeypatch.setattr(sys, "stdin", io.StringIO(document))
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["betaald", "calc", name, "--json"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {field}")


def test_call_command_raises_a_command_error_with_exit_code_2():
    with pytest.raises(CommandError) as error:
        calc("rate", "--kind", "x", "--on", "2020-01-01")
    assert error.value.returncode == 2
    with pytest.raises(CommandError) as error:
        calc("rate", "--kind")
    assert error.value.returncode == 2


def test_an_unreadable_input_file_is_exit_code_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(
            ["betaald", "calc", "allocate", "--input", str(tmp_path / "missing.json")]
        )
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("error: --input: cannot read")


def test_allow_stale_extends_the_last_rate():
    result = calc_json(
        "interest", "--kind", "statutory", "--principal", "36500.00",
        "--from", "2026-07-01", "--to", "2026-07-01", "--allow-stale",
    )  # fmt: skip
    assert result["interest"] == "4.00"
    assert calc_json("rate", "--kind", "statutory", "--on", "2030-01-01", "--allow-stale") == {
        "percent": "4.00"
    }


def test_an_unexpected_failure_is_one_line_with_exit_code_1(monkeypatch, capsys):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("betaald.calculator.calculations.rate", broken)
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["betaald", "calc", "rate", "--kind", "statutory", "--on", "x"])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "error: internal error: boom\n"


def run_fresh(*args, stdin=None):
    """`betaald calc` in a new process on an empty var dir: no database, no migrations."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["BETAALD_VAR_DIR"] = str(ROOT / "var" / "test-fresh-clone")
    return subprocess.run(
        [sys.executable, "-m", "betaald.cli", "calc", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


def test_calc_works_on_a_fresh_clone_without_a_database():
    """The packaged CSV tables are used when there is no migrated database."""
    result = run_fresh(
        "interest", "--kind", "commercial", "--principal", "1000.00",
        "--from", "2023-01-01", "--to", "2023-12-31", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["interest"] == "112.56"
    statement = run_fresh("statement", "--json", stdin=json.dumps(STATEMENT_INPUT))
    assert json.loads(statement.stdout)["state"]["total"] == "1676.17"


def test_a_bad_option_in_a_real_process_is_one_line_and_exit_code_2():
    result = run_fresh("interest", "--kind", "statutory", "--principal", "abc")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    bad_json = run_fresh("allocate", "--json", stdin="not json")
    assert bad_json.returncode == 2
    assert bad_json.stderr.startswith("error: input: not valid JSON")
