"""The on-call entry point /runbooks/for/<alertname>/ behind Prometheus' runbook_url."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from alerts.models import AlertRule, Engagement, Episode, Feedback
from fleet.models import AISystem, Team
from runbooks.models import Runbook
from runbooks.services import runbook_save

# Pages and commands here read the clock (this week, last 7 days, review ages): pin it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

URL = "/runbooks/for/ModelLatencyHigh/"


def page(client: Client, user: User, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_matchers_pick_the_rule_for_the_labels(
    client: Client, member: User, team: Team, rule: AlertRule
) -> None:
    other_book = runbook_save(
        runbook=Runbook(slug="recsys-latency", title="Recsys latency", owner_team=team),
        author=member,
        body="Recsys body",
    )
    AlertRule.objects.create(alertname="ModelLatencyHigh", runbook=other_book, owner_team=team)

    fraud = page(client, member, URL + "?model=fraud-scorer&env=prod")
    catch_all = page(client, member, URL + "?model=recommender-v7")

    assert "Latency of the fraud scorer is high." in fraud
    assert "Recsys body" not in fraud
    assert "Recsys body" in catch_all
    assert "Latency of the fraud scorer" not in catch_all


def test_shows_firing_episodes_matching_the_labels_with_owner_and_leads(
    client: Client,
    member: User,
    rule: AlertRule,
    team: Team,
    make_episode: Callable[..., Episode],
) -> None:
    team.chat_channel = "#fraud-oncall"
    team.email = "fraud@example.com"
    team.escalation_url = "https://pager.example.com/fraud"
    team.save()
    member.first_name, member.last_name = "Ada", "Lead"
    member.save()
    make_episode(
        rule, labels={"model": "fraud-scorer", "env": "prod"}, started_ago=timedelta(minutes=42)
    )
    make_episode(rule, labels={"model": "fraud-scorer", "env": "staging"})

    html = page(client, member, URL + "?model=fraud-scorer&env=prod")

    assert html.count('<span class="chip bad">firing</span> since') == 1
    assert "(42m)" in html
    assert "#fraud-oncall" in html
    assert "mailto:fraud@example.com" in html
    assert 'href="https://pager.example.com/fraud"' in html
    assert "Lead: Ada Lead" in html
    assert "Fraud scorer" in html


def test_history_lists_last_ten_episodes_with_durations(
    client: Client, member: User, rule: AlertRule, make_episode: Callable[..., Episode]
) -> None:
    for days in range(12):
        make_episode(
            rule,
            labels={"model": "fraud-scorer"},
            started_ago=timedelta(days=days + 1),
            duration=timedelta(minutes=3 + days),
        )

    html = page(client, member, URL + "?model=fraud-scorer")

    history = html.split("Recent history")[1]
    assert history.count("<tr><td>") == 10
    assert "<td>3m</td>" in history
    assert "<td>12m</td>" in history
    assert "<td>13m</td>" not in history


def test_investigate_links_are_filled_with_the_firing_window_and_encoded_labels(
    client: Client, member: User, rule: AlertRule, make_episode: Callable[..., Episode]
) -> None:
    start = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    make_episode(
        rule,
        labels={"model": "fraud-scorer", "env": "prod & <dev>"},
        starts_at=start,
        duration=timedelta(minutes=30),
    )

    html = page(
        client, member, URL + "?" + urlencode({"model": "fraud-scorer", "env": "prod & <dev>"})
    )

    start_ms, end_ms = 1795575600000, 1795577400000
    assert int(start.timestamp() * 1000) == start_ms
    assert (
        f'href="https://grafana.example.com/d/fraud?from={start_ms}&amp;to={end_ms}'
        '&amp;var-model=fraud-scorer"'
    ) in html
    assert (
        'href="https://jaeger.example.com/search?service=fraud-scorer'
        '&amp;start=2026-11-25T03:00:00Z&amp;end=2026-11-25T03:30:00Z"'
    ) in html
    # Label values are URL-encoded, unknown placeholders left empty.
    assert (
        'href="https://loki.example.com/explore?q=fraud-scorer&amp;env=prod%20%26%20%3Cdev%3E&amp;who="'
        in html
    )


def test_a_broken_link_template_is_skipped_without_breaking_the_page(
    client: Client, member: User, rule: AlertRule, system: AISystem
) -> None:
    AISystem.objects.filter(pk=system.pk).update(
        dashboard_url="https://grafana.example.com/{unclosed", log_url_template="{model}"
    )

    html = page(client, member, URL + "?model=fraud-scorer")

    assert "grafana.example.com/{" not in html
    assert ">Dashboard</a>" not in html
    assert ">Logs</a>" not in html
    assert ">Traces</a>" in html


def test_what_else_fired_on_the_system_within_thirty_minutes(
    client: Client,
    member: User,
    rule: AlertRule,
    system: AISystem,
    team: Team,
    make_episode: Callable[..., Episode],
) -> None:
    drift = AlertRule.objects.create(
        alertname="FeatureDriftHigh", layer="ml", system=system, owner_team=team
    )
    cpu = AlertRule.objects.create(alertname="NodeCPUHigh", layer="infra", owner_team=team)
    far = AlertRule.objects.create(alertname="ConversionDrop", layer="business", system=system)
    start = timezone.now() - timedelta(hours=2)
    make_episode(rule, labels={"model": "fraud-scorer"}, starts_at=start)
    make_episode(drift, starts_at=start - timedelta(minutes=20), duration=timedelta(minutes=5))
    make_episode(cpu, starts_at=start + timedelta(minutes=10), system=system)
    make_episode(far, starts_at=start - timedelta(minutes=50))

    html = page(client, member, URL + "?model=fraud-scorer")

    nearby = html.split("(±30 min)")[1].split("Recent history")[0]
    assert "FeatureDriftHigh" in nearby
    assert "ML operation (L2)" in nearby
    assert "NodeCPUHigh" in nearby
    assert "ConversionDrop" not in nearby
    assert "ModelLatencyHigh" not in nearby


def test_unknown_alert_gets_fallback_contact_and_a_write_link(
    client: Client, member: User, settings: Any
) -> None:
    settings.STEWARD_FALLBACK_CONTACT = "#sre-oncall"

    html = page(client, member, "/runbooks/for/NeverSeenBefore/?env=prod")

    assert "Steward does not know this alert" in html
    assert "#sre-oncall" in html
    assert 'href="/runbooks/new/?alertname=NeverSeenBefore&amp;env=prod"' in html


def test_unknown_alert_names_the_owner_of_the_labelled_system(
    client: Client, member: User, system: AISystem, settings: Any
) -> None:
    settings.STEWARD_FALLBACK_CONTACT = ""

    html = page(client, member, "/runbooks/for/NeverSeenBefore/?model=fraud-scorer")

    assert "the system it names belongs to <strong>Fraud ML</strong>" in html
    assert "Fleet fallback contact" not in html


def test_known_rule_without_runbook_offers_owners_the_write_link(
    client: Client,
    member: User,
    other_team_member: User,
    team: Team,
    system: AISystem,
) -> None:
    AlertRule.objects.create(alertname="PredictionVolumeLow", owner_team=team, system=system)

    mine = page(client, member, "/runbooks/for/PredictionVolumeLow/")
    theirs = page(client, other_team_member, "/runbooks/for/PredictionVolumeLow/")

    for html in (mine, theirs):
        assert "No runbook yet" in html
        assert "Fraud ML" in html
    assert 'href="/runbooks/new/?alertname=PredictionVolumeLow"' in mine
    assert "Write the runbook" not in theirs


def test_unowned_rule_shows_the_fallback_contact(
    client: Client, member: User, settings: Any
) -> None:
    settings.STEWARD_FALLBACK_CONTACT = "sre@example.com"
    AlertRule.objects.create(alertname="Orphan", catalogued=False)

    html = page(client, member, "/runbooks/for/Orphan/")

    assert "Nobody owns this alert." in html
    assert "sre@example.com" in html


@pytest.mark.parametrize(
    "value",
    [
        'fraud "scorer"',
        "modèle-ünïcode-✓",
        "a&b=c",
        "<script>alert(1)</script>",
        "x' onmouseover='y",
    ],
)
def test_label_values_with_special_characters_are_escaped_and_encoded(
    client: Client, member: User, team: Team, make_episode: Callable[..., Episode], value: str
) -> None:
    special = AlertRule.objects.create(
        alertname="Special", matchers={"model": value}, owner_team=team
    )
    make_episode(special, labels={"model": value})

    html = page(client, member, "/runbooks/for/Special/?" + urlencode({"model": value}))

    assert "<script>alert" not in html
    assert "onmouseover='" not in html
    assert html.count("firing</span> since") == 1
    assert '<code>model="' + escape(value) + '"</code>' in html
    link = "/runbooks/new/?" + urlencode({"alertname": "Special", "model": value})
    assert f'href="{escape(link)}"' in html


def test_page_view_is_recorded_as_engagement_for_firing_and_recent_episodes(
    client: Client, member: User, rule: AlertRule, make_episode: Callable[..., Episode]
) -> None:
    firing = make_episode(rule, labels={"model": "fraud-scorer"}, started_ago=timedelta(days=2))
    recent = make_episode(
        rule,
        labels={"model": "fraud-scorer"},
        started_ago=timedelta(minutes=30),
        duration=timedelta(minutes=2),
    )
    old = make_episode(
        rule,
        labels={"model": "fraud-scorer"},
        started_ago=timedelta(hours=3),
        duration=timedelta(minutes=2),
    )
    other_labels = make_episode(rule, labels={"model": "fraud-scorer", "env": "dev"})

    page(client, member, URL + "?model=fraud-scorer&env=prod")
    page(client, member, URL + "?model=fraud-scorer")

    engaged = list(Engagement.objects.values_list("episode_id", "kind", "user_id"))
    assert sorted(engaged) == sorted(
        [
            (firing.pk, "runbook_view", member.pk),
            (recent.pk, "runbook_view", member.pk),
            (other_labels.pk, "runbook_view", member.pk),
        ]
    )
    assert old.pk not in {episode_id for episode_id, _, _ in engaged}


def test_reloading_the_page_does_not_count_a_second_engagement(
    client: Client,
    member: User,
    make_user: Callable[..., User],
    rule: AlertRule,
    make_episode: Callable[..., Episode],
) -> None:
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    colleague = make_user("colleague")

    for _ in range(3):
        page(client, member, URL + "?model=fraud-scorer")
    page(client, colleague, URL + "?model=fraud-scorer")

    viewers = sorted(
        Engagement.objects.filter(episode=episode).values_list("user__username", flat=True)
    )
    assert viewers == ["colleague", "member"]


def test_feedback_is_stored_once_per_user_per_episode_and_can_change(
    client: Client, member: User, rule: AlertRule, make_episode: Callable[..., Episode]
) -> None:
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    client.force_login(member)
    url = URL + "?model=fraud-scorer"

    first = client.post(url, {"episode": episode.pk, "verdict": "noise", "note": ""})
    second = client.post(
        url, {"episode": episode.pk, "verdict": "actionable", "note": "restarted pods"}
    )

    assert first.status_code == second.status_code == 302
    assert second["Location"] == url
    feedback = Feedback.objects.get()
    assert (feedback.episode_id, feedback.user_id) == (episode.pk, member.pk)
    assert feedback.actionable is True
    assert feedback.note == "restarted pods"
    assert Engagement.objects.filter(kind="feedback").count() == 2
    html = page(client, member, url)
    assert "<strong>actionable</strong> — restarted pods" in html


def test_feedback_can_target_any_of_several_firing_episodes(
    client: Client, member: User, rule: AlertRule, make_episode: Callable[..., Episode]
) -> None:
    earliest = make_episode(
        rule, labels={"model": "fraud-scorer", "env": "prod"}, started_ago=timedelta(hours=2)
    )
    later = make_episode(rule, labels={"model": "fraud-scorer", "env": "dev"})
    url = URL + "?model=fraud-scorer"

    html = page(client, member, url)
    client.post(url, {"episode": later.pk, "verdict": "noise"})

    assert f'<option value="{earliest.pk}" selected>' in html
    assert f'<option value="{later.pk}">' in html
    assert Feedback.objects.get().episode == later


def test_feedback_needs_csrf(
    member: User, rule: AlertRule, make_episode: Callable[..., Episode]
) -> None:
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)

    response = client.post(URL + "?model=fraud-scorer", {"episode": episode.pk, "verdict": "noise"})

    assert response.status_code == 403
    assert not Feedback.objects.exists()


def test_feedback_for_an_episode_of_another_rule_is_rejected(
    client: Client, member: User, rule: AlertRule, team: Team, make_episode: Callable[..., Episode]
) -> None:
    other = AlertRule.objects.create(alertname="Other", owner_team=team)
    foreign = make_episode(other)
    client.force_login(member)

    missing = client.post(URL + "?model=fraud-scorer", {"episode": foreign.pk, "verdict": "noise"})
    invalid = client.post(URL + "?model=fraud-scorer", {"episode": "x", "verdict": "maybe"})

    assert missing.status_code == 404
    assert invalid.status_code == 400
    assert not Feedback.objects.exists()


def test_oncall_page_sets_the_content_security_policy(
    client: Client, member: User, rule: AlertRule
) -> None:
    client.force_login(member)

    response = client.get(URL + "?model=fraud-scorer")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "base-uri 'none'" in policy
    assert "img-src 'self' https:" in policy


def test_oncall_page_query_count_is_bounded(
    client: Client,
    member: User,
    rule: AlertRule,
    system: AISystem,
    team: Team,
    make_episode: Callable[..., Episode],
    django_assert_max_num_queries: Any,
) -> None:
    neighbour = AlertRule.objects.create(
        alertname="FeatureDriftHigh", layer="ml", system=system, owner_team=team
    )
    for minutes in range(15):
        make_episode(
            rule, labels={"model": "fraud-scorer"}, started_ago=timedelta(minutes=minutes + 1)
        )
        make_episode(neighbour, started_ago=timedelta(minutes=minutes + 1))
    client.force_login(member)

    # Session, user, rules, firing, history, leads, nearby, feedback, seen engagements, the live
    # silences covering the rule, the rule's automation actions, and one INSERT for all engaged
    # episodes (15 firing here): the
    # count does not grow with them.
    with django_assert_max_num_queries(13):
        response = client.get(URL + "?model=fraud-scorer")
    # A reload records nothing new: the count no longer depends on the number of episodes.
    with django_assert_max_num_queries(12):
        reload = client.get(URL + "?model=fraud-scorer")

    assert response.status_code == reload.status_code == 200
