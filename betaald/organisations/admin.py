from django.contrib import admin

from betaald.organisations.models import LoginFailure, Membership, Organisation


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["legal_name", "trade_name", "kvk_number", "vat_number", "city"]
    search_fields = ["legal_name", "trade_name", "kvk_number"]
    inlines = [MembershipInline]


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["failed_at", "username", "address"]
    readonly_fields = ["failed_at", "username", "address"]
