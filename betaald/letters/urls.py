from django.urls import URLPattern, URLResolver, path

from betaald.letters import views

app_name = "letters"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("messages/<int:pk>/", views.message_detail, name="message_detail"),
    path("messages/<int:pk>/pdf/", views.message_pdf, name="message_pdf"),
    path("messages/<int:pk>/preview/", views.message_preview, name="message_preview"),
    path("messages/<int:pk>/resend/", views.message_resend_view, name="message_resend"),
    path("messages/<int:pk>/cancel/", views.message_cancel_view, name="message_cancel"),
    path("issues/<int:pk>/resolve/", views.issue_resolve, name="issue_resolve"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/<str:kind>/<str:language>/", views.template_edit, name="template_edit"),
    path(
        "templates/<str:kind>/<str:language>/preview/",
        views.template_preview,
        name="template_preview",
    ),
    path("print/", views.print_view, name="print"),
    path("print/batch/", views.print_batch_download, name="print_batch"),
    path("evidence/<int:customer_id>/", views.evidence_export, name="evidence"),
    # Called by the SMS provider, not by a user: no login, signed (see views.sms_status).
    path("webhooks/sms/status/", views.sms_status, name="sms_status"),
]
