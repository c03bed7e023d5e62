"""Choosing a replay suggestion on the review page, in a real browser (Debian's Chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alerts.models import AlertRule, Decision
from fleet.models import Team
from tests.alerts.replay.test_suggestions import _blips
from tests.alerts.review.conftest import flag
from tests.conftest import require_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_suggested_change_is_shown_and_choosing_it_records_a_tune(
    live_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    make_rule: Callable[..., AlertRule],
    team: Team,
    member: Any,
    week: str,
) -> None:
    require_service(Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None, "Chromium")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM below, Playwright's loop
    rule = make_rule("GpuTempBlip", owner_team=team, severity="page", expression="gpu_temp > 90")
    _blips(rule, count=48, tag="a")
    flag(rule, week, "noisy", "48 fires")
    url = f"{live_server.url}/review/{week}/?team=fraud-ml"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(url)
        page.get_by_label("Username").fill("member")
        page.get_by_label("Password").fill("pw-for-tests")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"**/review/{week}/?team=fraud-ml")

        suggestion = page.locator(f"#rule-{rule.pk}-suggestion")
        assert (
            "adding for: 2m would have removed 48 of 49 pages last 4 weeks (20 nights)"
            in suggestion.inner_text()
        )
        assert suggestion.locator("p code").first.inner_text() == "for: 2m"  # not backticks
        assert "for: 2m" in suggestion.locator("pre.snippet").inner_text()
        suggestion.get_by_role("button", name="Choose this change").click()
        page.wait_for_url(f"**/review/{week}/?team=fraud-ml&at={rule.pk}#rule-{rule.pk}")
        item = page.locator(f"#rule-{rule.pk}")
        assert "Tune recorded for GpuTempBlip: for 2m, keep_firing_for 0s." in (
            item.locator(".confirm").inner_text()
        )

        page.reload()
        decided = item.locator(".decided")
        assert decided.inner_text().startswith("Decided: Tune — adding for: 2m would have removed")
        assert decided.locator("code").first.inner_text() == "for: 2m"
        # Chosen once: the suggestion says so instead of offering the button again.
        assert "Chosen" in suggestion.locator(".chosen").inner_text()
        assert suggestion.get_by_role("button", name="Choose this change").count() == 0
        page.screenshot(path=str(tmp_path / "review-suggestion.png"), full_page=True)
        browser.close()

    assert not [m for m in console if "Content Security Policy" in m], console
    decision = Decision.objects.get(rule=rule)
    assert (decision.kind, decision.decided_by.username) == ("tune", "member")  # type: ignore[union-attr]
    assert decision.proposed_change == {"for": "2m", "keep_firing_for": "0s"}
    assert (tmp_path / "review-suggestion.png").stat().st_size > 10_000
