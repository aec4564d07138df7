from django.contrib import admin

from betaald.debtors.models import Contact, Customer, CustomerIban


class ContactInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Contact
    extra = 0


class IbanInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CustomerIban
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["number", "name", "kind", "city", "status", "organisation"]
    list_filter = ["organisation", "kind", "status", "language"]
    search_fields = ["name", "number", "email", "kvk_number", "vat_number"]
    inlines = [ContactInline, IbanInline]
