"""Read-only admin for the outbox: messages are evidence and change only through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from betaald.letters.models import Message, MessageTemplate, SendIssue


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "organisation", "customer", "kind", "channel", "status", "sent_at")
    list_filter = ("status", "channel", "kind")
    search_fields = ("unique_key", "customer__name", "message_id")
    date_hierarchy = "created_at"


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "kind", "language", "updated_at")


@admin.register(SendIssue)
class SendIssueAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "customer", "kind", "is_resolved", "created_at")
    list_filter = ("kind", "is_resolved")
