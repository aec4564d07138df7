from django.apps import AppConfig


class CalculatorConfig(AppConfig):
    name = "betaald.calculator"
    label = "calculator"
