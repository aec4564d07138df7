from django.urls import URLPattern, URLResolver, path

from betaald.bank import views

app_name = "bank"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("accounts/add/", views.account_add, name="account_add"),
    path("import/", views.upload, name="upload"),
    path("mandates/", views.mandates, name="mandates"),
    path("direct-debits/<int:pk>/", views.direct_debit_file, name="direct_debit_file"),
    path("review/", views.review, name="review"),
    path("review/match-again/", views.review_match_again, name="review_match_again"),
    path("review/<int:pk>/accept/<int:candidate>/", views.review_accept, name="review_accept"),
    path("review/<int:pk>/not-ours/", views.review_not_ours, name="review_not_ours"),
    path("review/<int:pk>/split/", views.review_split, name="review_split"),
]
