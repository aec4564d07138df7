"""Rate tables of the shared reference data, loaded as the packaged CSVs (pure, no Django)."""

from pathlib import Path

import pytest

from betaald.core.rates import RateTable, parse_rate_csv

DATA = Path(__file__).resolve().parents[2] / "betaald" / "rates" / "data"


def load(kind: str) -> RateTable:
    name = {"statutory": "wettelijke_rente.csv", "commercial": "handelsrente.csv"}[kind]
    return parse_rate_csv((DATA / name).read_text(encoding="utf-8"), kind=kind)


@pytest.fixture(scope="session")
def statutory() -> RateTable:
    return load("statutory")


@pytest.fixture(scope="session")
def commercial() -> RateTable:
    return load("commercial")
