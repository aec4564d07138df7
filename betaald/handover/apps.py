from django.apps import AppConfig


class HandoverConfig(AppConfig):
    name = "betaald.handover"
    label = "handover"
