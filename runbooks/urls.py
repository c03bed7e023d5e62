from django.urls import path

from runbooks import views

app_name = "runbooks"

urlpatterns = [
    path("runbooks/", views.runbook_list, name="list"),
    path("runbooks/new/", views.runbook_new, name="new"),
    path("runbooks/for/<str:alertname>/", views.runbook_for_alert, name="for_alert"),
    path("runbooks/<slug:slug>/", views.runbook_detail, name="detail"),
    path("runbooks/<slug:slug>/edit/", views.runbook_edit, name="edit"),
    path("runbooks/<slug:slug>/history/", views.runbook_history, name="history"),
    path("runbooks/<slug:slug>/review/", views.runbook_review, name="review"),
]
