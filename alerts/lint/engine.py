"""The lint gate: Prometheus rule files checked against the catalog (README "Lint gate").

`lint_rule_files` is the one entry point, used by `POST /api/v1/rules/lint/` and
`manage.py lint_rules`:

1. Parse each file with line numbers; YAML and structure errors become violations.
2. Load what the checks need in a constant number of queries (teams, catalog rules for every
   alertname, runbooks named by URL, waivers), whatever the size of the files.
3. Check each alert rule (owner, severity, layer, summary, runbook_url, `for:` of page alerts,
   PromQL shape) and each recording rule (PromQL shape).
4. Apply waivers: an active waiver for (alert, check) turns the violation into "waived"; an
   expired one leaves it failing and says so.
5. Optionally forecast each alert against Prometheus (alerts.lint.forecast); with base files,
   compare what the base and the new rules would have done (pages per team, page budgets).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.utils import timezone

from alerts.lint.checks import Catalog, check_alert
from alerts.lint.collect import Collector
from alerts.lint.forecast import forecast_change, forecast_entries
from alerts.lint.types import AlertEntry, LintReport, Status, Violation

__all__ = ["AlertEntry", "LintReport", "Status", "Violation", "lint_rule_files"]


def _apply_waivers(report: LintReport, catalog: Catalog) -> None:
    """Step 4."""
    now = timezone.now()
    for violation in report.violations:
        waivers = catalog.waivers.get((violation.alert, violation.check), [])
        active = [w for w in waivers if w.is_active(now=now)]
        if active:
            waiver = max(active, key=lambda w: w.expires_at)
            violation.status = Status.WAIVED
            violation.waiver = {
                "id": waiver.pk,
                "reason": waiver.reason,
                "approver": waiver.approver.username if waiver.approver else None,
                "expires_at": waiver.expires_at.isoformat(),
            }
        elif waivers:
            expired = max(w.expires_at for w in waivers)
            violation.message += f" (its waiver expired on {expired:%Y-%m-%d})"


def lint_rule_files(
    files: Sequence[tuple[str, str]],
    *,
    forecast: bool = False,
    forecast_window: timedelta = timedelta(days=7),
    forecast_step: int | None = None,
    base: Sequence[tuple[str, str]] | None = None,
    forecast_end: datetime | None = None,
    visible_teams: set[str] | None = None,
) -> LintReport:
    """Lint (file name, YAML text) pairs; see the module docstring for the steps.

    `base` (with `forecast`): the rule files before the change, compared with `files`. They
    are parsed but not linted (their problems are not this change's).
    """
    report = LintReport()
    collector = Collector(report)
    for name, text in files:
        collector.collect(name, text)
    catalog = Catalog.load(collector.entries)
    for entry in collector.entries:
        for check, line, message in check_alert(entry, catalog):
            report.violations.append(
                Violation(entry.file, line, entry.group, entry.alert, check, message)
            )
    if forecast and base is not None:
        base_collector = Collector(LintReport())
        for name, text in base:
            base_collector.collect(name, text)
        forecast_change(
            report,
            base_collector.entries,
            collector.entries,
            window=forecast_window,
            step=forecast_step,
            end=forecast_end,
            visible_teams=visible_teams,
        )
    elif forecast:
        forecast_entries(
            report,
            collector.entries,
            window=forecast_window,
            step=forecast_step,
            end=forecast_end,
        )
    _apply_waivers(report, catalog)
    report.violations.sort(key=lambda v: (v.file, v.line, v.check))
    return report
