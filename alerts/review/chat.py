"""Post the week's agenda to each team's chat webhook (Slack-compatible `{"text": ...}`).

The post goes through `core.outbound` (no internal addresses, no redirects, bounded time and
size). Failures are logged, never raised: a broken webhook must not fail the evaluation that
triggered the post. The log line names the team, never the URL: the URL is the secret.
"""

from __future__ import annotations

import logging

from django.conf import settings

from alerts.review import selectors
from core import outbound
from fleet.models import Team

logger = logging.getLogger(__name__)

MAX_ITEMS = 15


def agenda_text(*, week: str, team: Team, items: list[selectors.AgendaItem]) -> str:
    url = f"{settings.STEWARD_BASE_URL}/review/{week}/?team={team.slug}"
    if not items:
        return f"Alert review {week} for {team.name}: nothing flagged this week. {url}"
    count = len(items)
    plural = "" if count == 1 else "s"
    lines = [f"Alert review {week} for {team.name}: {count} rule{plural} flagged. {url}"]
    for item in items[:MAX_ITEMS]:
        flags = ", ".join(f.label for f in item.flags)
        lines.append(f"{item.rank}. {item.rule} ({item.rule.severity or 'no severity'}): {flags}")
    if len(items) > MAX_ITEMS:
        lines.append(f"… and {len(items) - MAX_ITEMS} more on the page.")
    return "\n".join(lines)


def team_agenda_post(*, week: str, team: Team) -> bool:
    """Post one team's agenda; True when the webhook answered 2xx."""
    items = selectors.agenda_items(week=week, team=team)
    payload = {"text": agenda_text(week=week, team=team, items=items)}
    try:
        response = outbound.post_json(team.chat_webhook_url, payload)
    except (outbound.OutboundRefused, outbound.OutboundFailed) as error:
        logger.warning("review agenda post to team %s failed: %s", team.slug, error)
        return False
    if not response.ok:
        logger.warning(
            "review agenda post to team %s failed: the webhook answered HTTP %s",
            team.slug,
            response.status,
        )
        return False
    return True


def agenda_post_all(*, week: str) -> dict[str, bool]:
    """Post to every team that has a webhook; returns the outcome per team slug."""
    teams = Team.objects.exclude(chat_webhook_url="")
    return {team.slug: team_agenda_post(week=week, team=team) for team in teams}
