"""Lint report formats: JSON for tools, plain text for CI logs, GitHub Actions annotations."""

from __future__ import annotations

import json

from alerts.lint.types import LintReport, Status

FORMATS = ("text", "json", "github")


def render_json(report: LintReport) -> str:
    return json.dumps(report.as_dict(), indent=2)


def _summary(report: LintReport) -> str:
    data = report.as_dict()
    verdict = "OK" if report.ok else "FAILED"
    return (
        f"steward lint {verdict}: {data['files']} file(s), {data['alerts']} alert(s), "
        f"{data['errors']} error(s), {data['waived']} waived, {data['warnings']} warning(s)"
    )


def forecast_lines(report: LintReport) -> list[str]:
    """The before/after table of `--forecast --base`, one line per team, then what each
    team's changes would miss."""
    data = report.forecast_change
    if data is None:
        return []
    lines = [
        f"forecast {data['window_start'][:16]}Z .. {data['window_end'][:16]}Z, "
        f"step {data['step_seconds']}s, {data['range_queries']} range queries, "
        f"{data['recorded_episodes']} recorded episode(s)",
        f"{'team':<20} {'pages/week':>16} {'sleep/' + data['window_days'] + 'd':>10} "
        f"{'budget':>7}  missed-actionable",
    ]
    for team in data["teams"]:
        pages = f"{team['pages_per_week_before']:g} -> {team['pages_per_week_after']:g}"
        sleep = f"{team['sleep_interruptions_before']} -> {team['sleep_interruptions_after']}"
        budget = f"{team['page_budget_per_week']}" + ("!" if team["over_budget"] else "")
        lines.append(
            f"{team['team']:<20} {pages:>16} {sleep:>10} {budget:>7}  "
            f"{team['missed_actionable_count']}"
        )
        for missed in team["missed_actionable"]:
            why = "actionable" if missed["actionable"] else "engaged"
            lines.append(
                f"  would miss {missed['alert']} {missed['starts_at'][:16]}Z ({why}) "
                f"{missed['url']}"
            )
    for change in data["changes"]:
        lines.append(
            f"  {change['status']} {change['alert']}: episodes {change['episodes_before']} -> "
            f"{change['episodes_after']} (-{change['episodes_removed']} "
            f"+{change['episodes_added']}), pages {change['pages_before']} -> "
            f"{change['pages_after']}"
        )
        for late in change["delayed_actionable"]:
            lines.append(
                f"    would page {late['starts_at'][:16]}Z {late['delay_seconds'] // 60} min "
                f"later (acted on) {late['url']}"
            )
    for error in data["errors"]:
        lines.append(f"{error['file']}: forecast {error['alert']}: {error['error']}")
    return lines


def render_text(report: LintReport) -> str:
    lines = []
    for v in report.violations:
        where = "/".join(part for part in (v.group, v.alert) if part) or "-"
        text = f"{v.file}:{v.line}: {v.status} [{v.check}] {where}: {v.message}"
        if v.waiver:
            text += (
                f" — waived until {v.waiver['expires_at'][:10]} by {v.waiver['approver']}: "
                f"{v.waiver['reason']}"
            )
        lines.append(text)
    for item in report.forecasts:
        fires = "unknown" if item["fires"] is None else item["fires"]
        lines.append(f"{item['file']}: forecast {item['alert']}: {fires} fire(s)")
    lines += forecast_lines(report)
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_LEVELS = {Status.ERROR: "error", Status.WARNING: "warning", Status.WAIVED: "notice"}


def render_github(report: LintReport) -> str:
    """GitHub Actions workflow commands: one annotation per violation, on its file and line."""
    lines = []
    for v in report.violations:
        title = f"steward lint: {v.check}" + (f" ({v.alert})" if v.alert else "")
        message = v.message
        if v.waiver:
            message = f"Waived until {v.waiver['expires_at'][:10]}: {v.waiver['reason']}. {message}"
        lines.append(
            f"::{_LEVELS[v.status]} file={_escape_property(v.file)},line={v.line},"
            f"title={_escape_property(title)}::{_escape_data(message)}"
        )
    lines += forecast_lines(report)
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def render(report: LintReport, fmt: str) -> str:
    return {"text": render_text, "json": render_json, "github": render_github}[fmt](report)
