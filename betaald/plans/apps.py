from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "betaald.plans"
    label = "plans"
