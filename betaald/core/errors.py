"""Errors of the pure core: data, not crashes. The shell maps them to form, API and CLI errors."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was violated by the input.

    `field` names the input that is wrong (for forms, API problem details and the CLI),
    `message` says why in one sentence, in English. A message with values is raised as a
    `template` with `%(name)s` placeholders and its `params`, so that the shell can say it in
    the reader's language (`betaald.i18n.error_text`); `message` is the template filled in.
    """

    def __init__(
        self, message: str, *, field: str | None = None, params: dict[str, object] | None = None
    ) -> None:
        self.template = message
        self.params: dict[str, object] = dict(params or {})
        self.message = message % self.params if self.params else message
        super().__init__(self.message)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidAmount(DomainError):
    """An amount is not a valid decimal money value."""


class InvalidPeriod(DomainError):
    """A date range is empty, reversed, or outside what the rules cover."""


class RateNotFound(DomainError):
    """No statutory rate is known for a day (before the first row, or after the table's end)."""
