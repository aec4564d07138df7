from django.urls import URLPattern, URLResolver, path

from betaald.handover import views

app_name = "handover"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("stuiting/", views.limitation_notice, name="limitation_notice"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/dossier.zip", views.dossier_zip_download, name="dossier_zip"),
    path("<int:pk>/dossier.pdf", views.dossier_pdf_download, name="dossier_pdf"),
]
