from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "betaald.dunning"
    label = "dunning"
