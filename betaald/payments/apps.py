from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "betaald.payments"
    label = "payments"
