"""Statutory interest rates (art. 6:119, 6:119a, 6:120 BW) and Atw holiday overrides, as data.

Rates change every half-year; an administrator adds a row in the admin as soon as a new rate
is published (for the commercial rate even when unchanged). The core reads them as a
`betaald.core.rates.RateTable` through `betaald.rates.selectors.rate_table`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RatePeriod(models.Model):
    """One row of a rate table: `rate_percent` a year from `effective_from` (inclusive)."""

    class Kind(models.TextChoices):
        STATUTORY = "statutory", _("Statutory interest (wettelijke rente, art. 6:119 BW)")
        COMMERCIAL = (
            "commercial",
            _("Commercial interest (wettelijke handelsrente, art. 6:119a BW)"),
        )

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    effective_from = models.DateField(_("effective from"))
    rate_percent = models.DecimalField(_("rate (% a year)"), max_digits=7, decimal_places=4)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["kind", "effective_from"]
        verbose_name = _("rate period")
        verbose_name_plural = _("rate periods")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "effective_from"], name="rates_rateperiod_unique_kind_date"
            ),
            models.CheckConstraint(
                condition=models.Q(rate_percent__gte=0),
                name="rates_rateperiod_rate_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.effective_from.isoformat()} {self.rate_percent}%"


class HolidayOverride(models.Model):
    """A day a decree under art. 3 lid 3 Algemene termijnenwet adds to or removes from the
    generated holidays (the default decree pattern)."""

    day = models.DateField(_("day"), unique=True)
    is_holiday = models.BooleanField(
        _("is a holiday"),
        default=True,
        help_text=_("Checked: the day is equated to a holiday. Unchecked: not a holiday."),
    )
    source = models.CharField(_("source (decree)"), max_length=200, blank=True)

    class Meta:
        ordering = ["day"]
        verbose_name = _("holiday override")
        verbose_name_plural = _("holiday overrides")

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {'+' if self.is_holiday else '-'}"
