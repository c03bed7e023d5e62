from django.urls import path
from rest_framework.routers import SimpleRouter

from fleet import api_slo

router = SimpleRouter()
router.register("slos", api_slo.SLOViewSet, basename="api-slo")

urlpatterns = [
    path("scorecards/", api_slo.ScorecardListView.as_view(), name="api-scorecards"),
    path("scorecards/<slug:slug>/", api_slo.ScorecardDetailView.as_view(), name="api-scorecard"),
    path(
        "teams/<slug:slug>/slo-rules.yml",
        api_slo.TeamSLORulesView.as_view(),
        name="api-team-slo-rules",
    ),
    *router.urls,
]
