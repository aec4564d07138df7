"""Bank statement parsing: camt.053, MT940 and CSV into frozen records (no Django, no database).

`parse_file(data, csv_mapping=None)` detects the format and returns a `ParsedFile`;
`file_warnings(parsed)` lists what is odd but not fatal; `summarise(parsed)` is the dry-run JSON.
Everything that makes a file unreadable raises `StatementFileError` naming the place.
"""

from __future__ import annotations

from betaald.bank.statements.camt import parse_camt053
from betaald.bank.statements.checks import file_warnings
from betaald.bank.statements.csv_format import CsvMapping, parse_csv
from betaald.bank.statements.mt940_format import decode, looks_like_mt940, parse_mt940
from betaald.bank.statements.records import (
    Balance,
    Entry,
    ParsedFile,
    Statement,
    StatementFileError,
    Transaction,
)
from betaald.bank.statements.summary import summarise

__all__ = [
    "Balance",
    "CsvMapping",
    "Entry",
    "ParsedFile",
    "Statement",
    "StatementFileError",
    "Transaction",
    "detect_format",
    "file_warnings",
    "parse_file",
    "summarise",
]


def detect_format(data: bytes, *, filename: str = "") -> str:
    """``"xml"``, ``"mt940"`` or ``"csv"``; StatementFileError when it is none of them."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise StatementFileError("the file is empty", place="line 1")
    if head.startswith(b"<") or head[:4] in (b"\xff\xfe<\x00", b"\xfe\xff\x00<"):
        return "xml"
    if looks_like_mt940(decode(data)):
        return "mt940"
    if filename.lower().endswith((".csv", ".tsv")):
        return "csv"
    raise StatementFileError(
        "unknown statement format (expected camt.053 XML, MT940 or CSV with a column mapping)",
        place="line 1",
    )


def parse_file(
    data: bytes, *, filename: str = "", csv_mapping: CsvMapping | None = None
) -> ParsedFile:
    kind = "csv" if csv_mapping is not None else detect_format(data, filename=filename)
    if kind == "xml":
        return parse_camt053(data)
    if kind == "mt940":
        return parse_mt940(data)
    return parse_csv(data, csv_mapping or CsvMapping())
