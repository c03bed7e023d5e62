from django.urls import path, register_converter

from alerts.replay import views as replay_views
from alerts.review import views


class WeekConverter:
    regex = r"[0-9]{4}-W[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(WeekConverter, "week")

app_name = "review"

urlpatterns = [
    path("", views.review_current, name="current"),
    path("effect/", views.review_effect, name="effect"),
    path("actions/<int:pk>/done/", views.action_done, name="action_done"),
    path("replay/<int:rule_id>/", replay_views.rule_replay, name="replay"),
    path("<week:week>/rules/<int:rule_id>/tune/", replay_views.tune_choose, name="tune"),
    path("<week:week>/", views.review_week, name="week"),
    path("<week:week>/rules/<int:rule_id>/decide/", views.decision_create, name="decide"),
    path("<week:week>/start/", views.meeting_start, name="start"),
    path("<week:week>/meeting/", views.meeting_update, name="meeting"),
    path("<week:week>/close/", views.meeting_close, name="close"),
    path("<week:week>/minutes.md", views.minutes_markdown, name="minutes_md"),
    path("<week:week>/minutes.csv", views.minutes_csv, name="minutes_csv"),
]
