"""The review page in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from alerts.models import AlertRule, Decision
from core.weeks import week_shift
from fleet.models import Membership, Team
from runbooks.models import Runbook
from tests.alerts.review.conftest import WEEK, flag, stats
from tests.conftest import require_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _seed() -> AlertRule:
    team = Team.objects.create(slug="fraud-ml", name="Fraud ML")
    recsys = Team.objects.create(slug="recsys", name="Recommender")
    user = User.objects.create_user("ana", password="pw-for-tests", first_name="Ana")
    Membership.objects.create(team=team, user=user)
    stale = Runbook.objects.create(slug="drift", title="Drift")
    thief = AlertRule.objects.create(
        alertname="FraudScorerLatencyHigh", severity="page", owner_team=team, runbook=stale
    )
    flag(thief, WEEK, "sleep_thief", "Paged 4 times between 22:00 and 08:00 (Europe/Berlin)")
    flag(thief, WEEK, "noisy", "31 fires this week; the 4 weeks before had a median of 9")
    for back, fires in enumerate([31, 12, 9, 8, 9, 6, 7, 5]):
        stats(
            thief,
            week_shift(WEEK, -back),
            fires=fires,
            interruptions_sleep=4 if back == 0 else 1,
            interruptions_business=fires // 2,
        )
    drift = AlertRule.objects.create(
        alertname="RecsysFeatureDriftPSI", severity="warning", owner_team=recsys
    )
    flag(drift, WEEK, "ignored", "1 of 14 episodes was engaged with (7%)")
    flag(drift, WEEK, "no_runbook", "No runbook is linked")
    stats(drift, WEEK, fires=14)
    orphan = AlertRule.objects.create(alertname="NightlyBatchLate", severity="ticket")
    flag(orphan, WEEK, "unowned", "No owner team")
    flag(orphan, WEEK, "silent", "Has not fired in 120 days")
    Decision.objects.create(
        rule=drift,
        week=week_shift(WEEK, -2),
        kind="runbook",
        note="Write the PSI runbook",
        owner=user,
    )
    return thief


def test_record_a_decision_and_see_it_after_reload(
    live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service(Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None, "Chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still
    # plain synchronous test code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    rule = _seed()
    url = f"{live_server.url}/review/{WEEK}/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url)
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password").fill("pw-for-tests")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"**/review/{WEEK}/")
        assert page.locator("article.item h4").first.inner_text().endswith("FraudScorerLatencyHigh")

        # No form until asked for: the item's link opens it, scrolled to the item.
        assert page.locator("form.decision-form").count() == 0
        page.locator(f"#rule-{rule.pk}").get_by_role("link", name="Record a decision").click()
        page.wait_for_url(f"**/review/{WEEK}/?decide={rule.pk}#rule-{rule.pk}")
        assert page.locator("form.decision-form").count() == 1
        item = page.locator(f"#rule-{rule.pk}")
        item.get_by_label("Decision").select_option("tune")
        item.get_by_label("Note (the reason, for keep)").fill("Raise for: to 10m, page on SLO burn")
        item.get_by_label("Action owner").select_option(label="Ana")
        item.get_by_label("Due date").fill("2030-01-15")
        item.get_by_role("button", name="Record decision").click()
        page.wait_for_url(f"**/review/{WEEK}/?at={rule.pk}#rule-{rule.pk}")
        # The confirmation is at the item the user was working on.
        confirm = page.locator(f"#rule-{rule.pk} .confirm")
        assert "Decision recorded for" in confirm.inner_text()
        assert page.locator(".messages").count() == 0
        page.reload()
        assert page.locator(f"#rule-{rule.pk} .confirm").count() == 0

        decided = page.locator(f"#rule-{rule.pk} .decided")
        assert "Decided: Tune" in decided.inner_text()
        assert "Raise for: to 10m" in decided.inner_text()
        page.screenshot(path=str(tmp_path / "review-laptop.png"), full_page=True)
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(tmp_path / "review-projector.png"))
        browser.close()

    decision = Decision.objects.get(rule=rule)
    assert (decision.kind, decision.decided_by.username) == ("tune", "ana")  # type: ignore[union-attr]
    assert (tmp_path / "review-laptop.png").stat().st_size > 10_000
    print(f"screenshots in {tmp_path}")
