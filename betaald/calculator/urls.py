from django.urls import URLPattern, URLResolver, path

from betaald.calculator import views

app_name = "calculator"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.calculator, name="calculator"),
]
