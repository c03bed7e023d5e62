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
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def render(report: LintReport, fmt: str) -> str:
    return {"text": render_text, "json": render_json, "github": render_github}[fmt](report)
