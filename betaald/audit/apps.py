from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "betaald.audit"
    label = "audit"
