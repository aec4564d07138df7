from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "betaald.web"
    label = "web"
