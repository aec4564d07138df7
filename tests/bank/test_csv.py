"""CSV statements through a column mapping: one statement per account, signed or D/C amounts,
and errors that name the line."""

from __future__ import annotations

import pytest

from betaald.bank.statements import CsvMapping, StatementFileError, parse_file, summarise

HEADER = "date,account,amount,currency,counterparty_name,counterparty_iban,description,reference\n"


def parse(text: str, mapping: CsvMapping | None = None, filename: str = "x.csv"):
    return parse_file(text.encode(), filename=filename, csv_mapping=mapping)


def test_default_mapping_with_signed_amounts_and_two_accounts():
    text = HEADER + (
        "2026-03-01,NL91ABNA0417164300,121.00,EUR,Jansen,NL02ABNA0123456789,factuur 1,\n"
        "2026-03-01,NL91ABNA0417164300,-5.00,EUR,Bank,,kosten,\n"
        "2026-03-02,NL20INGB0001234567EUR,10.00,USD,X,,,1234567890123456\n"
    )
    parsed = parse(text)  # no mapping given: a .csv file uses the default column names
    assert summarise(parsed) == {
        "format": "csv",
        "statements": 2,
        "entries": 3,
        "transactions": 3,
        "totals": {
            "EUR": {"credit": "121.00", "debit": "5.00"},
            "USD": {"credit": "10.00", "debit": "0.00"},
        },
        "returns": 0,
        "accounts": ["NL91ABNA0417164300", "NL20INGB0001234567"],
    }
    first = parsed.statements[0].entries[0].transactions[0]
    assert (first.counterparty_iban, first.remittance) == ("NL02ABNA0123456789", "factuur 1")
    assert parsed.statements[1].entries[0].transactions[0].structured_reference == (
        "1234567890123456"
    )


def test_a_missing_column_names_line_1():
    with pytest.raises(StatementFileError) as caught:
        parse("when,what\n2026-01-01,1\n")
    assert caught.value.place == "line 1"
    assert "'date'" in caught.value.message


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("2026-03-01,NL91ABNA0417164300,12;50,EUR,,,,", "not an amount"),
        ("01-03-2026,NL91ABNA0417164300,12.50,EUR,,,,", "not a date"),
        ("2026-03-01,,12.50,EUR,,,,", "no account"),
    ],
)
def test_bad_rows_name_their_line(row, fragment):
    with pytest.raises(StatementFileError) as caught:
        parse(HEADER + row + "\n")
    assert caught.value.place == "line 2"
    assert fragment in caught.value.message


def test_unknown_mapping_keys_are_refused():
    with pytest.raises(StatementFileError, match="unknown CSV mapping keys: colour"):
        CsvMapping.from_dict({"colour": "red"})


def test_value_date_default_account_and_currency():
    mapping = CsvMapping.from_dict(
        {
            "booking_date": "Boekdatum",
            "value_date": "Rentedatum",
            "amount": "Bedrag",
            "account": "",
            "currency": "",
            "default_account": "NL91ABNA0417164300",
            "direction": "D/C",
            "credit_values": ["c"],
            "delimiter": "\t",
            "decimal_comma": True,
            "date_format": "%d-%m-%Y",
        }
    )
    text = "Boekdatum\tRentedatum\tBedrag\tD/C\n01-03-2026\t02-03-2026\t1.000,50\tC\n"
    parsed = parse(text, mapping)
    entry = parsed.statements[0].entries[0]
    assert str(entry.value_date) == "2026-03-02"
    assert entry.is_credit
    assert str(entry.amount) == "1000.50"
    assert parsed.statements[0].account == "NL91ABNA0417164300"
    assert entry.currency == "EUR"


def test_a_latin1_csv_is_read():
    data = (HEADER + "2026-03-01,NL91ABNA0417164300,1.00,EUR,Café,,crème,\n").encode("cp1252")
    parsed = parse_file(data, filename="x.csv", csv_mapping=CsvMapping())
    assert parsed.statements[0].entries[0].transactions[0].counterparty_name == "Café"
