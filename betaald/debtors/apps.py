from django.apps import AppConfig


class DebtorsConfig(AppConfig):
    name = "betaald.debtors"
    label = "debtors"
