from django.urls import URLPattern, URLResolver, path

from betaald.dunning import views

app_name = "dunning"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/new/", views.policy_edit, name="policy_new"),
    path("policies/<int:pk>/", views.policy_edit, name="policy_edit"),
    path("customers/<int:pk>/policy/", views.customer_policy, name="customer_policy"),
    path("invoices/<int:pk>/", views.invoice_next, name="invoice_next"),
    path("invoices/<int:pk>/hold/", views.hold_add, name="hold_add"),
    path("holds/<int:pk>/release/", views.hold_release, name="hold_release"),
    path("forecast/", views.forecast, name="forecast"),
    path("approvals/", views.approvals, name="approvals"),
    path("runs/now/", views.run_now, name="run_now"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("worklist/", views.worklist, name="worklist"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/take/", views.task_take, name="task_take"),
    path("steps/", views.execution_list, name="executions"),
]
