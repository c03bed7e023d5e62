"""Signals between features, so that ingest, evaluation and self-metrics stay decoupled."""

from django.dispatch import Signal

# Sent after a delivery's transaction commits, with `weeks`: the ISO weeks (e.g. "2026-W47")
# whose episodes it opened, changed or closed. The noise evaluation listens to re-evaluate them.
# Ingest also passes `opened_by`: the id of the delivery when it opened episodes (those whose
# `first_delivery` it is), else None; runbook automation listens for it (automatic triggers).
episodes_changed = Signal()

# Sent for every inbound delivery, accepted or rejected, with `delivery` (a saved Delivery, or
# an unsaved one when the database was unavailable) and `duration_seconds` (time spent in the
# endpoint). Self-metrics count deliveries and episodes by source and outcome from it.
delivery_recorded = Signal()

# Sent when an evaluation of a week ends, with `evaluation` (an Evaluation whose status is done
# or failed) and `duration_seconds`.
evaluation_finished = Signal()

# Sent inside an evaluation's write transaction, with `week`, after the week's old results are
# deleted and before the new ones are inserted. Nothing in Steward listens; the fault tests use
# it to kill a worker at that very moment (tests/support/evaluation_pause.py).
evaluation_writing = Signal()

# Sent inside an import's transaction (`import_rules`, `sync_prometheus`), with `arrived`: for
# each rule file the import covered, the (alertname, matchers_key) of every alert rule that came
# from it, and `origin`. The review marks prune/retire/tune decisions carried out from it.
rule_files_imported = Signal()
