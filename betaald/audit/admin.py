from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from betaald.audit.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The audit trail can be read, never edited (not even by a superuser)."""

    list_display = ["occurred_at", "name", "actor_label", "organisation", "customer", "invoice"]
    list_filter = ["organisation", "name"]
    search_fields = ["name", "actor_label", "message", "subject_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["organisation", "customer", "invoice"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
