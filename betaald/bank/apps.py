from django.apps import AppConfig


class BankConfig(AppConfig):
    name = "betaald.bank"
    label = "bank"
