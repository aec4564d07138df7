from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from betaald.invoices.models import Invoice, InvoiceLine


class InvoiceLineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = InvoiceLine
    extra = 0
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: invoices are created, issued and credited through the application, so that
    numbering, completeness checks and the audit trail are never bypassed."""

    list_display = ["number", "customer", "kind", "status", "issued_on", "due_on", "total"]
    list_filter = ["organisation", "status", "kind"]
    search_fields = ["number", "customer__name", "payment_reference"]
    date_hierarchy = "issued_on"
    inlines = [InvoiceLineInline]
    list_select_related = ["customer"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
