"""Bad and hostile input: every unreadable file is refused with the place named, nothing is
fetched or expanded, and a file that merely deviates from the XSD is read with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from betaald.bank.statements import StatementFileError, parse_file, summarise

REALDATA = Path(settings.SHARED_DIR) / "realdata"
ABN_CAMT = REALDATA / "camt053/abnamro-style_camt053-001-02_dd-batch-returns.xml"
ING_MT940 = REALDATA / "mt940/ing_mt940_sepa-structured_returns.940"
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


BALANCE_END = "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-01</Dt></Dt></Bal>"


def minimal_camt(namespace: str = NS, entry: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{namespace}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>1</MsgId><CreDtTm>2026-01-01T00:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>S1</Id>
      <CreDtTm>2026-01-01T00:00:00</CreDtTm>
      <Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt>{BALANCE_END}
      {entry}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()


ENTRY = """<Ntry>
        <Amt Ccy="EUR">12.50</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-01-02</Dt></BookgDt>
        <ValDt><Dt>2026-01-02</Dt></ValDt>
        <BkTxCd><Prtry><Cd>X</Cd></Prtry></BkTxCd>
      </Ntry>"""


def error_for(data: bytes) -> StatementFileError:
    with pytest.raises(StatementFileError) as caught:
        parse_file(data)
    return caught.value


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol9;</Document>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/evil.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>"""


def test_xxe_is_refused_before_parsing_and_names_the_line():
    error = error_for(XXE)
    assert "DOCTYPE" in error.message
    assert error.place == "line 2"


def test_billion_laughs_is_refused_without_expansion():
    error = error_for(BILLION_LAUGHS)
    assert "DOCTYPE" in error.message
    assert error.place == "line 2"


def test_an_external_dtd_is_refused_and_never_fetched():
    assert "DOCTYPE" in error_for(EXTERNAL_DTD).message


def test_a_doctype_hidden_in_utf16_is_refused_after_parsing():
    data = XXE.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>')
    error = error_for(data.decode().encode("utf-16"))
    assert "DOCTYPE" in error.message


def test_truncated_xml_names_line_and_column():
    data = ABN_CAMT.read_bytes()
    truncated = data[: len(data) // 2]
    error = error_for(truncated)
    assert error.message.startswith("malformed XML")
    assert error.place.startswith("line ")
    assert ", column " in error.place


def test_wrong_namespace_is_refused_naming_the_namespace():
    error = error_for(minimal_camt("urn:iso:std:iso:20022:tech:xsd:camt.052.001.02", ENTRY))
    assert "wrong XML namespace" in error.message
    assert "camt.052.001.02" in error.message
    assert error.place == "line 2 (element Document)"


def test_no_namespace_is_a_wrong_namespace():
    assert "wrong XML namespace" in error_for(b"<Document><BkToCstmrStmt/></Document>").message


def test_an_unsupported_camt053_version_is_refused():
    error = error_for(minimal_camt("urn:iso:std:iso:20022:tech:xsd:camt.053.001.99", ENTRY))
    assert "unsupported camt.053 version 001.99" in error.message


def test_another_root_element_is_refused():
    error = error_for(b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>')
    assert "root element is 'Invoice'" in error.message


def test_a_missing_credit_debit_indicator_names_the_element_and_line():
    error = error_for(minimal_camt(entry=ENTRY.replace("<CdtDbtInd>CRDT</CdtDbtInd>", "")))
    assert "CdtDbtInd" in error.message
    assert error.place == "line 10 (element Stmt[1]/Ntry[1]/CdtDbtInd)"  # the Ntry's line


def test_a_bad_amount_names_the_element():
    error = error_for(minimal_camt(entry=ENTRY.replace("12.50", "12,50")))
    assert "'12,50' is not an amount" in error.message
    assert "Stmt[1]/Ntry[1]/Amt" in error.place


def test_an_amount_without_currency_is_refused():
    error = error_for(minimal_camt(entry=ENTRY.replace(' Ccy="EUR"', "")))
    assert "Ccy" in error.message


def test_a_statement_without_account_is_refused():
    data = minimal_camt(entry=ENTRY).replace(
        b"<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>", b""
    )
    error = error_for(data)
    assert "no account" in error.message
    assert "Stmt[1]/Acct/Id" in error.place


def test_a_file_without_BkToCstmrStmt_is_refused():
    data = f'<Document xmlns="{NS}"><Other/></Document>'.encode()
    assert "BkToCstmrStmt" in error_for(data).place


def test_the_minimal_statement_of_these_tests_is_xsd_valid():
    assert parse_file(minimal_camt(entry=ENTRY)).warnings == ()


def test_an_xsd_deviation_with_every_needed_element_is_a_warning():
    data = minimal_camt(entry=ENTRY)
    data = data.replace(b"<Id>S1</Id>", b"<Id>S1</Id><Unexpected>x</Unexpected>")
    parsed = parse_file(data)
    assert summarise(parsed)["entries"] == 1
    assert any("XSD deviation (camt.053.001.02) at line" in w for w in parsed.warnings)


def test_many_xsd_deviations_are_summarised():
    data = minimal_camt(entry=ENTRY * 8).replace(b"<Sts>BOOK</Sts>", b"<Bad/><Sts>BOOK</Sts>")
    parsed = parse_file(data)
    assert summarise(parsed)["entries"] == 8
    assert parsed.warnings[-1].startswith("... and ")


def test_a_pending_entry_is_counted_with_a_warning():
    parsed = parse_file(minimal_camt(entry=ENTRY.replace("BOOK", "PDNG")))
    assert summarise(parsed)["entries"] == 1
    assert any("not BOOK" in w for w in parsed.warnings)


def test_an_empty_file_is_refused():
    assert "empty" in error_for(b"  \n").message


def test_an_unknown_format_is_refused():
    assert "unknown statement format" in error_for(b"hello, this is not a statement\n").message


def test_truncated_mt940_names_the_last_line():
    text = ING_MT940.read_text()
    truncated = text[: text.index(":62F:")]
    error = error_for(truncated.encode())
    assert "without a :62F: closing balance" in error.message
    assert error.place == "line 54 (after :86:)"  # the last tag before the cut


def test_mt940_without_opening_balance_is_refused():
    data = b":20:X\n:25:NL91ABNA0417164300\n:28C:1\n:62F:C260101EUR1,00\n"
    assert ":60F:" in error_for(data).message


def test_mt940_without_account_is_refused():
    data = b":20:X\n:28C:1\n:60F:C260101EUR1,00\n:61:2601010101C1,00NTRFNONREF\n"
    data += b":62F:C260101EUR2,00\n"
    assert ":25:" in error_for(data).message


def test_mt940_with_a_bad_balance_names_the_line():
    data = b":20:X\n:25:NL91ABNA0417164300\n:60F:C260101EURx\n:61:2601010101C1,00NTRFNONREF\n"
    data += b":62F:C260101EUR2,00\n"
    error = error_for(data)
    assert error.place == "line 3"


def test_mt940_with_an_impossible_date_names_the_line():
    data = b":20:X\n:25:NL91ABNA0417164300\n:60F:C261341EUR1,00\n:62F:C260101EUR1,00\n"
    assert "impossible date" in error_for(data).message


def test_mt940_with_a_bad_amount_names_the_line():
    data = b":20:X\n:25:NL91ABNA0417164300\n:60F:C260101EUR1,00\n:61:2601010101C1,0,0NTRFNONREF\n"
    data += b":62F:C260101EUR2,00\n"
    error = error_for(data)
    assert "line 4" in error.place


def test_mt940_with_an_unreadable_61_names_the_line():
    data = b":20:X\n:25:NL91ABNA0417164300\n:60F:C260101EUR1,00\n:61:garbage\n"
    data += b":62F:C260101EUR2,00\n"
    error = error_for(data)
    assert error.place == "line 4 (:61:)"


def test_mt940_tag_before_the_first_statement_is_refused():
    data = b":25:NL91ABNA0417164300\n:20:X\n:60F:C260101EUR1,00\n:62F:C260101EUR1,00\n"
    assert "before the first :20:" in error_for(data).message


def test_mt940_reversal_marks_count_as_returns_with_their_direction():
    data = (
        b":20:X\n:25:NL91ABNA0417164300EUR\n:60F:C260101EUR10,00\n"
        b":61:2601010101RD2,00NTRFNONREF\n:86:/REMI/USTD//storno/\n"
        b":61:2601010101RC3,00NTRFNONREF\n"
        b":62F:C260101EUR9,00\n"
    )
    parsed = parse_file(data)
    assert summarise(parsed) == {
        "format": "mt940",
        "statements": 1,
        "entries": 2,
        "transactions": 2,
        "totals": {"EUR": {"credit": "2.00", "debit": "3.00"}},
        "returns": 2,
        "accounts": ["NL91ABNA0417164300"],
    }
