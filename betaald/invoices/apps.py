from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "betaald.invoices"
    label = "invoices"
