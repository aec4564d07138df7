from django.contrib import admin

from betaald.rates.models import HolidayOverride, RatePeriod


@admin.register(RatePeriod)
class RatePeriodAdmin(admin.ModelAdmin[RatePeriod]):
    list_display = ["kind", "effective_from", "rate_percent", "source"]
    list_filter = ["kind"]
    ordering = ["kind", "-effective_from"]
    date_hierarchy = "effective_from"


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(admin.ModelAdmin[HolidayOverride]):
    list_display = ["day", "is_holiday", "source"]
    list_filter = ["is_holiday"]
