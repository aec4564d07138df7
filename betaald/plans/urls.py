from django.urls import URLPattern, URLResolver, path

from betaald.plans import views

app_name = "plans"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("new/", views.plan_create, name="plan_create"),
    path("<int:pk>/", views.plan_detail, name="plan_detail"),
    path("<int:pk>/<str:action>/", views.plan_action, name="plan_action"),
    path("promises/new/", views.promise_create, name="promise_create"),
    path("promises/<int:pk>/cancel/", views.promise_cancel, name="promise_cancel"),
    path("disputes/", views.disputes, name="disputes"),
    path("disputes/new/<int:invoice_pk>/", views.dispute_create, name="dispute_create"),
    path("disputes/<int:pk>/", views.dispute_detail, name="dispute_detail"),
    path("register/", views.register, name="register"),
    path(
        "suggestions/<int:pk>/<str:decision>/",
        views.suggestion_decide,
        name="suggestion_decide",
    ),
    path("customers/<int:pk>/", views.customer, name="credit"),
    path("settings/", views.settings, name="settings"),
]
