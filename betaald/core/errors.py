"""Errors of the pure core: data, not crashes. The shell maps them to form, API and CLI errors."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was violated by the input.

    `field` names the input that is wrong (for forms, API problem details and the CLI),
    `message` says why in one sentence.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidAmount(DomainError):
    """An amount is not a valid decimal money value."""


class InvalidPeriod(DomainError):
    """A date range is empty, reversed, or outside what the rules cover."""


class RateNotFound(DomainError):
    """No statutory rate is known for a day (before the first row, or after the table's end)."""
