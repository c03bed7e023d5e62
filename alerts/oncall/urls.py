"""The on-call entry point behind `runbook_url` and "write the runbook for this alert".

They live under /runbooks/ and in the "runbooks" URL namespace (config/urls.py mounts them with
runbooks/urls.py), and come before the runbook pages so that "new" and "for" are not slugs.
"""

from django.urls import path

from alerts.oncall import views

urlpatterns = [
    path("runbooks/new/", views.runbook_new, name="new"),
    path("runbooks/for/<str:alertname>/", views.runbook_for_alert, name="for_alert"),
]
