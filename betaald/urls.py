from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from betaald.api.api import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("calc/", include("betaald.calculator.urls")),
    path("bank/", include("betaald.bank.urls")),
    path("dunning/", include("betaald.dunning.urls")),
    path("letters/", include("betaald.letters.urls")),
    path("", include("betaald.web.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
