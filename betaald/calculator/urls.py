from django.urls import URLPattern, URLResolver

app_name = "calculator"

urlpatterns: list[URLPattern | URLResolver] = []
