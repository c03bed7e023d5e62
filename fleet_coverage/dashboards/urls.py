from django.urls import path

from fleet_coverage.dashboards import views

app_name = "fleet"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("fleet/", views.fleet_list, name="list"),
    path("fleet/<slug:slug>/", views.system_detail, name="detail"),
]
