from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "betaald.demo"
    label = "demo"
