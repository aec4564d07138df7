from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView

from betaald.api.api import api
from betaald.web.views import RateLimitedLoginView

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/login/", RateLimitedLoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    # The admin logs in through the same rate-limited login page.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("calc/", include("betaald.calculator.urls")),
    path("bank/", include("betaald.bank.urls")),
    path("dunning/", include("betaald.dunning.urls")),
    path("letters/", include("betaald.letters.urls")),
    path("plans/", include("betaald.plans.urls")),
    path("handover/", include("betaald.handover.urls")),
    path("", include("betaald.web.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
