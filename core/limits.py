"""Parsing budgets: how much structure Steward accepts from one request, in one place.

Every parser of untrusted input reads its limit here, and every refusal names the limit, so
that a sender knows what to change. They are constants rather than settings: real inputs stay
far below them (a Prometheus rule file nests about six levels deep, an Alertmanager webhook
about four), and they exist only to keep a small hostile body from costing seconds of CPU,
megabytes of answer or a RecursionError. The body size itself is `STEWARD_MAX_BODY_BYTES`.
"""

from __future__ import annotations

# JSON request bodies (webhooks and the REST API): levels of nested arrays and objects.
JSON_MAX_DEPTH = 32

# Rule files (the lint gate, import_rules, install_runbooks): levels of nested YAML
# sequences and mappings, and the nodes that aliases (`*name`, `<<: *name`) may add beyond
# those written. A shared label block reused by a few hundred rules adds a few thousand; one
# rule aliased 300 times in a group aliased 300 times adds millions.
YAML_MAX_DEPTH = 32
YAML_MAX_ALIAS_NODES = 10_000

# One lint request (all files together): a large fleet's rule repository is a few thousand
# rules in a few hundred groups, well under a megabyte.
LINT_MAX_BODY_BYTES = 2 * 1024 * 1024
LINT_MAX_GROUPS = 1_000
LINT_MAX_RULES = 5_000
