from django.apps import AppConfig


class RatesConfig(AppConfig):
    name = "betaald.rates"
    label = "rates"
