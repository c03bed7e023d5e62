from django.urls import path

from alerts.silences import views

app_name = "silences"

urlpatterns = [
    path("", views.silence_list, name="list"),
    path("sync/", views.silence_sync_now, name="sync"),
    path("teams/<slug:slug>/enforcement/", views.team_enforcement, name="team_enforcement"),
    path("<int:pk>/", views.silence_detail, name="detail"),
]
