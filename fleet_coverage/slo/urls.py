from django.urls import path

from fleet_coverage.slo import views as slo_views

urlpatterns = [
    path("scorecards/", slo_views.scorecards, name="scorecards"),
    path("fleet/teams/<slug:slug>/slo-rules.yml", slo_views.team_slo_rules, name="team-slo-rules"),
]
