from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from betaald.payments.models import Allocation, Payment
from betaald.payments.services import payment_register


class AllocationInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Allocation
    fk_name = "payment"
    extra = 0
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Payments are registered in the application (which allocates them); here they are read."""

    list_display = ["received_on", "customer", "amount", "method", "description"]
    list_filter = ["organisation", "method"]
    search_fields = ["customer__name", "description", "counterparty_iban"]
    date_hierarchy = "received_on"
    inlines = [AllocationInline]

    fields = [
        "organisation",
        "customer",
        "received_on",
        "amount",
        "method",
        "description",
        "counterparty_iban",
        "designated_invoice",
    ]
    raw_id_fields = ["customer", "designated_invoice"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None

    def save_model(self, request: HttpRequest, obj: Payment, form: Any, change: bool) -> None:
        """A new payment goes through the service, which allocates it and audits it."""
        payment = payment_register(
            organisation=obj.organisation,
            customer=obj.customer,
            amount=obj.amount,
            received_on=obj.received_on,
            method=obj.method,
            description=obj.description,
            counterparty_iban=obj.counterparty_iban,
            designated_invoice=obj.designated_invoice,
            actor=request.user,
        )
        obj.pk = payment.pk
        obj.created_at = payment.created_at

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
