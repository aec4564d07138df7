from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "betaald.organisations"
    label = "organisations"
