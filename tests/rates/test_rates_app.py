"""betaald.rates: the rate tables and the Atw holiday overrides as editable data."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from betaald.core.rates import StaleRate, rate_on
from betaald.rates import selectors
from betaald.rates.models import HolidayOverride, RatePeriod

pytestmark = pytest.mark.django_db


def csv_rows(name):
    lines = (selectors.DATA_DIR / name).read_text(encoding="utf-8").split()[1:]
    return [(date.fromisoformat(line[:10]), Decimal(line[11:])) for line in lines]


def test_the_data_migration_seeds_every_row_of_the_packaged_tables():
    """Art. 6:120 BW rates: the migration copies the CSV tables into RatePeriod."""
    for kind, name in selectors.CSV_FILES.items():
        stored = [
            (row.effective_from, row.rate_percent)
            for row in RatePeriod.objects.filter(kind=kind).order_by("effective_from")
        ]
        assert stored == csv_rows(name)


def test_the_selector_builds_the_same_table_from_the_database_and_from_the_csv():
    for kind in ("statutory", "commercial"):
        assert selectors.rate_table(kind) == selectors.packaged_rate_table(kind)


def test_an_edited_rate_is_used_and_a_new_half_year_confirms_the_table():
    """Rates are data: an administrator adds the next half-year's rate in the admin."""
    statutory = selectors.rate_table("statutory")
    with pytest.raises(StaleRate):
        rate_on(statutory, date(2026, 7, 1))
    assert selectors.rate_table_is_stale("statutory", date(2026, 7, 1))
    assert not selectors.rate_table_is_stale("statutory", date(2026, 6, 30))
    RatePeriod.objects.create(
        kind="statutory", effective_from=date(2026, 7, 1), rate_percent=Decimal("3.5000")
    )
    table = selectors.rate_table("statutory")
    assert rate_on(table, date(2026, 12, 31)) == Decimal("3.5")
    assert table.confirmed_until == date(2026, 12, 31)
    assert not selectors.rate_table_is_stale("statutory", date(2026, 7, 1))


def test_without_rows_in_the_database_the_packaged_csv_is_used():
    RatePeriod.objects.filter(kind="commercial").delete()
    assert selectors.database_rows("commercial") == []
    assert selectors.rate_table("commercial") == selectors.packaged_rate_table("commercial")


def test_an_unknown_kind_is_refused():
    with pytest.raises(selectors.UnknownRateKind):
        selectors.rate_table("contractual")
    with pytest.raises(selectors.UnknownRateKind):
        selectors.packaged_rate_table("contractual")


def test_one_rate_per_kind_and_day_and_never_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        RatePeriod.objects.create(
            kind="statutory", effective_from=date(2015, 1, 1), rate_percent=Decimal("2")
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        RatePeriod.objects.create(
            kind="statutory", effective_from=date(2030, 1, 1), rate_percent=Decimal("-1")
        )
    row = RatePeriod.objects.get(kind="statutory", effective_from=date(2015, 1, 1))
    assert str(row) == "statutory 2015-01-01 2.0000%"


def test_holiday_overrides_change_the_atw_calendar():
    """Art. 3 lid 3 Atw: a decree adds or removes equated days."""
    calendar = selectors.atw_holidays()
    assert date(2026, 5, 15) in calendar  # Friday after Ascension, by the decree pattern
    HolidayOverride.objects.create(day=date(2026, 5, 15), is_holiday=False, source="test")
    HolidayOverride.objects.create(day=date(2026, 6, 1), is_holiday=True, source="test")
    calendar = selectors.atw_holidays()
    assert date(2026, 5, 15) not in calendar
    assert date(2026, 6, 1) in calendar
    assert str(HolidayOverride.objects.get(day=date(2026, 6, 1))) == "2026-06-01 +"


def test_the_admin_lists_and_edits_rates(admin_client):
    response = admin_client.get(reverse("admin:rates_rateperiod_changelist"))
    assert response.status_code == 200
    row = RatePeriod.objects.get(kind="commercial", effective_from=date(2026, 1, 1))
    response = admin_client.post(
        reverse("admin:rates_rateperiod_change", args=[row.pk]),
        {
            "kind": "commercial",
            "effective_from": "2026-01-01",
            "rate_percent": "10.1500",
            "source": "Stb. check",
        },
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.source == "Stb. check"
    assert admin_client.get(reverse("admin:rates_holidayoverride_changelist")).status_code == 200
