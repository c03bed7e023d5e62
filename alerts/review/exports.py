"""The minutes of a review as Markdown and CSV.

User text (notes, reasons, names) is escaped: Markdown control characters get a backslash so a
note cannot turn into a heading, a link or a table; CSV cells that a spreadsheet would run as a
formula get a leading apostrophe: those starting with =, +, -, @, tab, carriage return or line
feed (OWASP's list: a spreadsheet may skip the whitespace and run what follows).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from django.utils import timezone

from alerts.automation.selectors import ActionWeek, action_weeks
from alerts.models import Decision, Review
from alerts.review import selectors
from fleet.models import Team

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


@dataclass
class Minutes:
    week: str
    team: Team | None
    review: Review | None
    items: list[selectors.AgendaItem]
    actions: list[Decision]
    automation: list[ActionWeek]

    @property
    def scope(self) -> str:
        return self.team.name if self.team else "all teams"


def minutes_build(*, week: str, team: Team | None) -> Minutes:
    review = selectors.review_for(week, team)
    return Minutes(
        week=week,
        team=team,
        review=review,
        items=selectors.agenda_items(week=week, team=team, review=review),
        actions=list(selectors.open_actions(week=week, team=team)),
        automation=action_weeks(week=week, team_id=team.pk if team else None),
    )


def md_escape(text: str) -> str:
    """Escape Markdown in one line of user text; newlines become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _person(user: object) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())  # type: ignore[attr-defined]


def _decision_line(d: Decision) -> str:
    parts = [f"**{d.get_kind_display()}**"]
    if d.note:
        parts.append(f"— {md_escape(d.note)}")
    if d.reassign_to:
        parts.append(f"(to {md_escape(d.reassign_to.name)})")
    if d.mute_until:
        parts.append(f"(muted until {d.mute_until:%Y-%m-%d})")
    if d.owner:
        parts.append(f"· owner {md_escape(_person(d.owner))}")
    if d.due_date:
        parts.append(f"· due {d.due_date:%Y-%m-%d}")
    parts.append(f"· decided by {md_escape(_person(d.decided_by))} on {d.decided_at:%Y-%m-%d}")
    return " ".join(parts)


def minutes_markdown(minutes: Minutes) -> str:
    review = minutes.review
    lines = [f"# Alert review {minutes.week} — {md_escape(minutes.scope)}", ""]
    if review and review.started_at:
        state = f"closed {review.closed_at:%Y-%m-%d %H:%M} UTC" if review.closed_at else "open"
        lines.append(f"Started {review.started_at:%Y-%m-%d %H:%M} UTC, {state}.")
        attendees = ", ".join(md_escape(_person(u)) for u in review.attendees.all())
        lines += ["", f"**Attendees:** {attendees or 'none recorded'}", ""]
        if review.notes.strip():
            lines += ["## Notes", ""]
            lines += [
                f"> {md_escape(line)}" if line.strip() else ">"
                for line in review.notes.splitlines()
            ]
            lines.append("")
    else:
        lines += ["The meeting has not been started.", ""]
    lines += [f"## Agenda ({len(minutes.items)} rules)", ""]
    for item in minutes.items:
        rule = item.rule
        new = " *(new since start)*" if item.new_since_start else ""
        lines.append(
            f"{item.rank}. **{md_escape(str(rule))}**{new} — {md_escape(item.team_name)}, "
            f"severity {rule.severity or 'unset'}, runbook {item.runbook_state}, "
            f"score {item.score:g}"
        )
        for flag in item.flags:
            marker = " (new since start)" if flag.new_since_start else ""
            lines.append(f"    - {flag.label}{marker}: {md_escape(flag.message)}")
        for decision in item.decisions_this_week:
            lines.append(f"    - Decision: {_decision_line(decision)}")
        if not item.decisions_this_week:
            lines.append("    - Decision: none recorded")
    lines += ["", f"## Open actions from earlier weeks ({len(minutes.actions)})", ""]
    now = timezone.now()
    for action in minutes.actions:
        age = (now - action.decided_at).days
        lines.append(
            f"- {md_escape(str(action.rule))} ({action.week}, {age} days): {_decision_line(action)}"
        )
    if not minutes.actions:
        lines.append("None.")
    if minutes.automation:
        lines += ["", f"## Runbook automation ({len(minutes.automation)} actions)", ""]
        lines += [
            f"- {md_escape(w.action.name)} — {_automation_summary(w)}" for w in minutes.automation
        ]
    return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _automation_summary(w: ActionWeek) -> str:
    """One action's week: runs, success and resolution rates, share resolved without a human."""
    refused = ", ".join(f"{g or 'other'} {n}" for g, n in sorted(w.refusals.items()))
    return (
        f"{w.runs} runs ({w.succeeded} succeeded, {w.failed} failed), {w.dry_runs} dry runs, "
        f"{w.refused} refused{f' ({refused})' if refused else ''}; success "
        f"{_percent(w.success_rate)}, resolved after the run {_percent(w.resolution_rate)}, "
        f"{w.resolved_without_human} of {w.episodes} episodes resolved without a human "
        f"({_percent(w.share_without_human)})"
    )


CSV_COLUMNS = [
    "section", "rank", "rule", "team", "severity", "runbook", "score", "flags", "evidence",
    "decision", "note", "owner", "due_date", "decided_by", "decided_at", "week", "age_days",
]  # fmt: skip


_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_LEADS) else text


def _decision_cells(d: Decision | None) -> dict[str, object]:
    if d is None:
        return {}
    note = d.note
    if d.reassign_to:
        note = f"{note} (to {d.reassign_to.name})".strip()
    if d.mute_until:
        note = f"{note} (muted until {d.mute_until:%Y-%m-%d})".strip()
    return {
        "decision": d.kind,
        "note": note,
        "owner": _person(d.owner),
        "due_date": d.due_date.isoformat() if d.due_date else "",
        "decided_by": _person(d.decided_by),
        "decided_at": d.decided_at.isoformat(timespec="seconds"),
        "week": d.week,
    }


def minutes_csv(minutes: Minutes) -> str:
    """One row per meeting fact, agenda decision and open action; sections name the row kind."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    rows: list[dict[str, object]] = []
    review = minutes.review
    if review is not None:
        attendees = "; ".join(_person(u) for u in review.attendees.all())
        rows.append({"section": "attendees", "note": attendees, "week": minutes.week})
        rows.append({"section": "notes", "note": review.notes, "week": minutes.week})
    for item in minutes.items:
        base = {
            "section": "agenda",
            "rank": item.rank,
            "rule": str(item.rule),
            "team": item.team_name,
            "severity": item.rule.severity,
            "runbook": item.runbook_state,
            "score": f"{item.score:g}",
            "flags": " ".join(f.flag for f in item.flags),
            "evidence": " | ".join(f.message for f in item.flags),
            "week": minutes.week,
        }
        decisions: list[Decision | None] = list(item.decisions_this_week) or [None]
        for decision in decisions:
            rows.append({**base, **_decision_cells(decision)})
    now = timezone.now()
    for action in minutes.actions:
        rule = action.rule
        rows.append(
            {
                "section": "open_action",
                "rule": str(rule),
                "team": rule.owner_team.name if rule.owner_team else "Unowned",
                "severity": rule.severity,
                **_decision_cells(action),
                "age_days": (now - action.decided_at).days,
            }
        )
    for week in minutes.automation:
        rows.append(
            {
                "section": "automation",
                "rule": week.action.name,
                "team": week.action.team.name,
                "runbook": week.action.runbook.slug,
                "evidence": _automation_summary(week),
                "week": minutes.week,
            }
        )
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return out.getvalue()
