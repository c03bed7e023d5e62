from django.urls import path

from alerts.ingest import views

app_name = "integrations"

urlpatterns = [
    path("<slug:source>/", views.webhook, name="webhook"),
]
