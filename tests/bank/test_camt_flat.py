"""The fast paths of the statement parser give what the plain definitions give: `_Flat` (an
entry's elements by relative path, built in one walk) finds what lxml's own `findall` finds on
every real camt.053 file, and the IBAN checksum agrees with ISO 13616's per-character rule."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from betaald.bank.statements import camt, checks

CAMT_FILES = sorted((Path(settings.SHARED_DIR) / "realdata" / "camt053").glob("*.xml"))


def lxml_findall(element: etree._Element, namespace: str, path: str) -> list[etree._Element]:
    return list(element.findall("/".join(f"{{{namespace}}}{step}" for step in path.split("/"))))


def every_path(element: etree._Element, stop: str = "") -> set[str]:
    """Every relative path of local names below `element`, not below a `stop` element."""
    found: set[str] = set()

    def walk(parent: etree._Element, prefix: str) -> None:
        for child in parent.iterchildren(tag=etree.Element):
            name = etree.QName(child).localname
            path = f"{prefix}/{name}" if prefix else name
            found.add(path)
            if not (stop and name == stop):
                walk(child, path)

    walk(element, "")
    return found


@pytest.mark.parametrize("path", CAMT_FILES, ids=lambda p: p.name)
def test_flat_finds_what_lxml_finds_in_every_entry_and_transaction(path):
    root = camt.parse_xml(path.read_bytes())
    namespace = camt.namespace_of(root)
    checked = 0
    for ntry in root.iter(f"{{{namespace}}}Ntry"):
        flat = camt._Flat(ntry, stop="TxDtls")
        assert set(flat.paths) == every_path(ntry, stop="TxDtls")
        for relative in flat.paths:
            assert flat.findall(relative) == lxml_findall(ntry, namespace, relative)
        for tx in ntry.iter(f"{{{namespace}}}TxDtls"):
            tx_flat = camt._Flat(tx)
            assert set(tx_flat.paths) == every_path(tx)
            for relative in tx_flat.paths:
                assert tx_flat.findall(relative) == lxml_findall(tx, namespace, relative)
                checked += 1
    assert checked > 0


def test_flat_keeps_document_order_for_one_path_under_several_parents_on_one_line():
    namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    ntry = etree.fromstring(
        f'<Ntry xmlns="{namespace}"><NtryDtls><TxDtls><Refs>A</Refs></TxDtls></NtryDtls>'
        "<NtryDtls><TxDtls><Refs>B</Refs></TxDtls><TxDtls><Refs>C</Refs></TxDtls></NtryDtls>"
        "</Ntry>"
    )
    flat = camt._Flat(ntry, stop="TxDtls")
    assert [tx.findtext(f"{{{namespace}}}Refs") for tx in flat.findall("NtryDtls/TxDtls")] == [
        "A",
        "B",
        "C",
    ]
    assert "NtryDtls/TxDtls/Refs" not in flat.paths


def mod97_per_character(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters as 10..35, mod 97 is 1."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(character, 36)) for character in rearranged)) % 97 == 1


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=5, max_size=34))
def test_the_iban_checksum_agrees_with_the_per_character_rule(value):
    assert checks._mod97_ok(value) == mod97_per_character(value)


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("NL91ABNA0417164300", True),
        ("nl91abna0417164300", True),
        ("NL92ABNA0417164300", False),
        ("DE89370400440532013000", True),
        ("GB82WEST12345698765432", True),
    ],
)
def test_known_ibans_pass_or_fail_the_checksum(iban, valid):
    assert checks._mod97_ok(iban) is valid
    assert mod97_per_character(iban) is valid
