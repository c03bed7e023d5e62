from django.urls import path

from alerts.automation import views

app_name = "automation"

urlpatterns = [
    path("", views.action_list, name="list"),
    path("switch/", views.switch_set, name="switch"),
    path("actions/<int:action_id>/", views.action_detail, name="action"),
    path("actions/<int:action_id>/dry-run/", views.action_dry_run, name="dry_run"),
    path("actions/<int:action_id>/run/", views.action_run, name="run"),
    path("actions/<int:action_id>/manage/", views.action_manage, name="manage"),
    path("runs/<int:run_id>/decide/", views.run_decide, name="decide"),
]
