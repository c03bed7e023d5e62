"""The alerts app's models, one module per concern."""

from alerts.models.catalog import AlertRule, matchers_key
from alerts.models.ingest import Delivery, Engagement, Episode, Feedback
from alerts.models.lint import LintCheck, Waiver
from alerts.models.noise import CoFiring, Evaluation, Flag, RuleFlag, RuleWeek
from alerts.models.review import Decision, Review, RuleFileText

__all__ = [
    "AlertRule",
    "CoFiring",
    "Decision",
    "Delivery",
    "Engagement",
    "Episode",
    "Evaluation",
    "Feedback",
    "Flag",
    "LintCheck",
    "Review",
    "RuleFileText",
    "RuleFlag",
    "RuleWeek",
    "Waiver",
    "matchers_key",
]
