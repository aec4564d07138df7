"""Legal calendar: holidays of the Algemene termijnenwet, presumed receipt, the 14-day term.

Holidays (art. 3 Algemene termijnenwet, Atw): New Year's Day, Good Friday (lid 2), Easter
Monday, King's Day, 5 May (every year), Ascension Day, Whit Monday, Christmas Day and Boxing
Day, plus the days equated to them by royal decree (art. 3 lid 3). The decrees have for years
followed one pattern, generated here by default and editable as data (`HolidayCalendar.extra`,
`HolidayCalendar.removed`): the Friday after Ascension Day; the Monday before New Year's Day,
King's Day, 5 May or Christmas Day when that day is a Tuesday; the Friday after New Year's Day,
King's Day, 5 May or Boxing Day when that day is a Thursday.

Presumed receipt of a posted letter (HR 25-11-2016, ECLI:NL:HR:2016:2704, program rule): the
second day after posting, not counting Sundays, Mondays and holidays. The 14-day term of
art. 6:96 lid 6 BW starts the day after receipt; when its last day is a Saturday, Sunday or
holiday it moves to the next day that is none of those (art. 1 Atw, applied as the safe
reading); collection costs are due from the day after the last day.
See docs/algorithms/calendar.md.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import functools
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from betaald.core.errors import InvalidPeriod

ONE_DAY = timedelta(days=1)
SATURDAY, SUNDAY, MONDAY = 5, 6, 0
TUESDAY, THURSDAY = 1, 3

#: Days a posted letter needs (art. 6:96 lid 6 BW as applied by HR 25-11-2016).
RECEIPT_DAYS = 2
#: The term of art. 6:96 lid 6 BW.
TERM_DAYS = 14


def easter_sunday(year: int) -> date:
    """Western (Gregorian) Easter Sunday: the anonymous Gregorian computus (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def kings_day(year: int) -> date:
    """The day the King's (before 2014: the Queen's) birthday is celebrated (art. 3 lid 1 Atw).

    From 2014: 27 April, or 26 April when the 27th is a Sunday. Before 2014: 30 April, or
    29 April when the 30th is a Sunday (the rule since 1980, used for all earlier years too).
    """
    day = date(year, 4, 27) if year >= 2014 else date(year, 4, 30)
    return day - ONE_DAY if day.weekday() == SUNDAY else day


def statutory_holidays(year: int) -> dict[date, str]:
    """The holidays named in art. 3 lid 1 and 2 Atw for `year`, with their English names."""
    easter = easter_sunday(year)
    return {
        date(year, 1, 1): "New Year's Day",
        easter - timedelta(days=2): "Good Friday",
        easter + ONE_DAY: "Easter Monday",
        kings_day(year): "King's Day",
        date(year, 5, 5): "Liberation Day (5 May)",
        easter + timedelta(days=39): "Ascension Day",
        easter + timedelta(days=50): "Whit Monday",
        date(year, 12, 25): "Christmas Day",
        date(year, 12, 26): "Boxing Day",
    }


def equated_days(year: int) -> dict[date, str]:
    """Days equated to holidays by the decree pattern (art. 3 lid 3 Atw), from `year`'s holidays.

    A day of the pattern may fall in the previous year (the Monday before a New Year's Day
    that is a Tuesday is 31 December).
    """
    days: dict[date, str] = {}
    ascension = easter_sunday(year) + timedelta(days=39)
    days[ascension + ONE_DAY] = "Friday after Ascension Day (equated)"
    for day in (date(year, 1, 1), kings_day(year), date(year, 5, 5), date(year, 12, 25)):
        if day.weekday() == TUESDAY:
            days[day - ONE_DAY] = f"Monday before {day.isoformat()} (equated)"
    for day in (date(year, 1, 1), kings_day(year), date(year, 5, 5), date(year, 12, 26)):
        if day.weekday() == THURSDAY:
            days[day + ONE_DAY] = f"Friday after {day.isoformat()} (equated)"
    return days


@dataclass(frozen=True, slots=True)
class HolidayCalendar:
    """The holidays of the Atw as data: computed days, the decree pattern, and overrides.

    `extra` adds days (a decree that deviates from the pattern), `removed` drops generated
    days, `equated_pattern=False` leaves the decree pattern out. Supports `day in calendar`.
    """

    extra: frozenset[date] = field(default_factory=frozenset)
    removed: frozenset[date] = field(default_factory=frozenset)
    equated_pattern: bool = True

    def holidays_in(self, year: int) -> dict[date, str]:
        """Every holiday of calendar year `year`, sorted, with a name."""
        found: dict[date, str] = {}
        for source_year in (year, year + 1):
            found.update(statutory_holidays(source_year))
            if self.equated_pattern:
                for day, name in equated_days(source_year).items():
                    found.setdefault(day, name)
        for day in self.extra:
            found.setdefault(day, "Equated by decree")
        return {
            day: found[day] for day in sorted(found) if day.year == year and day not in self.removed
        }

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        return day in _days_of(self, day.year)


@functools.lru_cache(maxsize=1024)
def _days_of(holidays: HolidayCalendar, year: int) -> frozenset[date]:
    return frozenset(holidays.holidays_in(year))


#: The default calendar: statutory holidays plus the decree pattern, no overrides.
ATW_HOLIDAYS = HolidayCalendar()


def holiday_calendar(
    *, extra: Iterable[date] = (), removed: Iterable[date] = (), equated_pattern: bool = True
) -> HolidayCalendar:
    """A calendar with days added (`extra`) or taken out (`removed`) by an administrator."""
    return HolidayCalendar(
        extra=frozenset(extra), removed=frozenset(removed), equated_pattern=equated_pattern
    )


def is_holiday(day: date, holidays: Container[date] = ATW_HOLIDAYS) -> bool:
    """True on a holiday of art. 3 Atw (including equated days)."""
    return day in holidays


def is_business_day(day: date, holidays: Container[date] = ATW_HOLIDAYS) -> bool:
    """A day that is no Saturday, Sunday or Atw holiday (art. 1 Atw)."""
    return day.weekday() not in (SATURDAY, SUNDAY) and day not in holidays


def next_business_day(day: date, holidays: Container[date] = ATW_HOLIDAYS) -> date:
    """`day` itself when it is a business day, else the next business day (art. 1 Atw)."""
    while not is_business_day(day, holidays):
        day += ONE_DAY
    return day


def add_business_days(day: date, count: int, holidays: Container[date] = ATW_HOLIDAYS) -> date:
    """The `count`-th business day after `day` (`count` >= 0; 0 returns `day`)."""
    if count < 0:
        raise InvalidPeriod("must not be negative", field="count")
    while count:
        day += ONE_DAY
        if is_business_day(day, holidays):
            count -= 1
    return day


def add_years(day: date, years: int) -> date:
    """The same calendar date `years` later; 29 February becomes 28 February (convention)."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not _stdlib_calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, clipped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    last = _stdlib_calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def presumed_receipt(sent_on: date, *, holidays: Container[date] = ATW_HOLIDAYS) -> date:
    """The day a posted letter is presumed received (HR 25-11-2016, ECLI:NL:HR:2016:2704).

    The second day after posting; Sundays, Mondays and Atw holidays do not count, neither as
    a day in between nor as the day of receipt. Saturday counts.
    """
    day, counted = sent_on, 0
    while counted < RECEIPT_DAYS:
        day += ONE_DAY
        if day.weekday() not in (SUNDAY, MONDAY) and day not in holidays:
            counted += 1
    return day


@dataclass(frozen=True, slots=True)
class Deadline:
    """The 14-day term of art. 6:96 lid 6 BW for one letter."""

    sent_on: date
    presumed_receipt: date
    term_first_day: date
    term_last_day: date
    costs_due_from: date
    receipt_by_delivery: bool = False


def fourteen_day_term(
    sent_on: date,
    *,
    holidays: Container[date] = ATW_HOLIDAYS,
    delivered_on: date | None = None,
) -> Deadline:
    """The term of the 14-dagenbrief (art. 6:96 lid 6 BW).

    Receipt is presumed per `presumed_receipt`, unless `delivered_on` is given (an e-mail with
    proof of delivery), which then is the day of receipt. The 14 days start the day after
    receipt; a last day on a Saturday, Sunday or holiday moves to the next business day
    (art. 1 Atw, the safe reading); costs are due from the day after the last day.
    """
    if delivered_on is not None:
        if delivered_on < sent_on:
            raise InvalidPeriod("delivery cannot be before sending", field="delivered_on")
        receipt = delivered_on
    else:
        receipt = presumed_receipt(sent_on, holidays=holidays)
    last_day = next_business_day(receipt + timedelta(days=TERM_DAYS), holidays)
    return Deadline(
        sent_on=sent_on,
        presumed_receipt=receipt,
        term_first_day=receipt + ONE_DAY,
        term_last_day=last_day,
        costs_due_from=last_day + ONE_DAY,
        receipt_by_delivery=delivered_on is not None,
    )
