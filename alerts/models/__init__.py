"""The alerts app's models, one module per concern."""

from alerts.models.catalog import (
    INTERRUPTING_SEVERITIES,
    AlertRule,
    Layer,
    Severity,
    Source,
    matchers_key,
)
from alerts.models.ingest import Delivery, Engagement, Episode, Feedback
from alerts.models.lint import LintCheck, Waiver
from alerts.models.noise import CoFiring, Evaluation, Flag, RuleFlag, RuleWeek
from alerts.models.review import Decision, Review
from tokens.models import ApiToken, Integration

__all__ = [
    "INTERRUPTING_SEVERITIES",
    "AlertRule",
    "ApiToken",
    "CoFiring",
    "Decision",
    "Delivery",
    "Engagement",
    "Episode",
    "Evaluation",
    "Feedback",
    "Flag",
    "Integration",
    "Layer",
    "LintCheck",
    "Review",
    "RuleFlag",
    "RuleWeek",
    "Severity",
    "Source",
    "Waiver",
    "matchers_key",
]
