"""Routes of the REST API, included at /api/v1/ by config/urls.py.

The ingest webhooks are not here: config/urls.py routes /api/v1/integrations/ to
alerts/ingest/urls.py.
"""

from django.urls import path
from rest_framework.routers import DefaultRouter

from alerts.api.catalog import (
    AlertRuleViewSet,
    DecisionViewSet,
    EpisodeViewSet,
    ReviewViewSet,
    RuleFlagViewSet,
    RuleWeekViewSet,
    WaiverViewSet,
)
from alerts.api.ownership import OwnershipView
from alerts.automation.api import ActionRunViewSet, ActionViewSet
from alerts.lint.api import RuleForecastView, RuleLintView
from alerts.replay.api import RuleReplayView
from alerts.silences.api import SilenceViewSet
from api import schema  # noqa: F401 (registers the token auth scheme)
from api.catalog.views import AISystemViewSet, MembershipViewSet, TeamViewSet
from fleet_coverage.slo.api import (
    ScorecardDetailView,
    ScorecardListView,
    SLOViewSet,
    TeamSLORulesView,
)
from runbooks.api.views import RunbookViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("teams", TeamViewSet, basename="team")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("systems", AISystemViewSet, basename="system")
router.register("alert-rules", AlertRuleViewSet, basename="alert-rule")
router.register("runbooks", RunbookViewSet, basename="runbook")
router.register("episodes", EpisodeViewSet, basename="episode")
router.register("rule-weeks", RuleWeekViewSet, basename="rule-week")
router.register("flags", RuleFlagViewSet, basename="flag")
router.register("reviews", ReviewViewSet, basename="review")
router.register("decisions", DecisionViewSet, basename="decision")
router.register("waivers", WaiverViewSet, basename="waiver")
router.register("slos", SLOViewSet, basename="slo")
router.register("silences", SilenceViewSet, basename="silence")
router.register("automation/actions", ActionViewSet, basename="automation-action")
router.register("automation/runs", ActionRunViewSet, basename="automation-run")

app_name = "api"

urlpatterns = [
    path("ownership/", OwnershipView.as_view(), name="ownership"),
    path("rules/lint/", RuleLintView.as_view(), name="rules-lint"),
    path("rules/lint/forecast/", RuleForecastView.as_view(), name="rules-lint-forecast"),
    path("alert-rules/<int:pk>/replay/", RuleReplayView.as_view(), name="alert-rule-replay"),
    path("scorecards/", ScorecardListView.as_view(), name="scorecards"),
    path("scorecards/<slug:slug>/", ScorecardDetailView.as_view(), name="scorecard"),
    path("teams/<slug:slug>/slo-rules.yml", TeamSLORulesView.as_view(), name="team-slo-rules"),
    *router.urls,
]
