from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "betaald.letters"
    label = "letters"
