from django.urls import path

from fleet import views

app_name = "fleet"

urlpatterns = [
    path("", views.overview, name="overview"),
]
