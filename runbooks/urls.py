from django.urls import path

from runbooks import views

# Mounted by config/urls.py under the "runbooks" namespace, together with the on-call pages
# (alerts/oncall/urls.py) that share the /runbooks/ prefix.

urlpatterns = [
    path("runbooks/", views.runbook_list, name="list"),
    path("runbooks/<slug:slug>/", views.runbook_detail, name="detail"),
    path("runbooks/<slug:slug>/edit/", views.runbook_edit, name="edit"),
    path("runbooks/<slug:slug>/history/", views.runbook_history, name="history"),
    path("runbooks/<slug:slug>/review/", views.runbook_review, name="review"),
]
