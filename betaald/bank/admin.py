"""Admin for the bank app: accounts and saved CSV mappings are edited here; statements and
bank transactions are read-only (they only change through the import and review services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from betaald.bank.models import BankAccount, BankTransaction, CsvMapping, Statement


@admin.register(BankAccount)
class BankAccountAdmin(admin.ModelAdmin[BankAccount]):
    list_display = ("iban", "name", "organisation", "currency")
    search_fields = ("iban", "name")


@admin.register(CsvMapping)
class CsvMappingAdmin(admin.ModelAdmin[CsvMapping]):
    list_display = ("name", "organisation")


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ("account", "identifier", "format", "closing_on", "closing_balance")
    list_filter = ("format", "is_balanced")


@admin.register(BankTransaction)
class BankTransactionAdmin(ReadOnlyAdmin):
    list_display = ("booking_date", "amount", "currency", "counterparty_name", "status")
    list_filter = ("status", "currency", "is_return")
    search_fields = ("counterparty_name", "counterparty_iban", "remittance", "structured_reference")
