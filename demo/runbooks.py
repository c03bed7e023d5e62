"""Runbooks of the demo fleet: slug → (title, owner team, days since review or None, Markdown).

Days since review: more than the 90-day interval makes a stale runbook; None was never reviewed.
"""

from __future__ import annotations


def _runbook(
    summary: str, impact: str, diagnosis: list[str], mitigation: list[str], escalation: str
) -> str:
    steps = "\n".join(f"{i}. {step}" for i, step in enumerate(diagnosis, 1))
    fixes = "\n".join(f"- {fix}" for fix in mitigation)
    return (
        f"## Summary\n\n{summary}\n\n## Impact\n\n{impact}\n\n## Diagnosis\n\n{steps}\n\n"
        f"## Mitigation\n\n{fixes}\n\n## Escalation\n\n{escalation}\n"
    )


RUNBOOKS: dict[str, tuple[str, str | None, int | None, str]] = {
    "model-latency-high": (
        "Model latency above SLO",
        "ml-infra",
        21,
        _runbook(
            "The p99 latency of a model's prediction endpoint is above its SLO for 5 minutes.",
            "Callers time out or fall back to defaults; for synchronous models users wait.",
            [
                "Open the system's dashboard from the alert and compare p50 with p99: a high "
                "p99 with a normal p50 points to a few slow pods or cold caches.",
                "Check saturation: `sum by (pod) (rate(container_cpu_usage_seconds_total"
                '{pod=~"<model>-.*"}[5m]))` against the CPU limit.',
                "Look for a recent deploy or a model version change in the traces link.",
                "Check the feature store latency (`FeatureStoreOnlineLatencyHigh`).",
            ],
            [
                "Scale out: `kubectl -n serving scale deploy/<model> --replicas=<n+2>`.",
                "Roll back the last model version in the registry if latency started with it.",
                "Enable the cached-prediction fallback if the caller supports it.",
            ],
            "If latency stays above SLO for 30 minutes, page the owning team's lead and "
            "#ml-infra-oncall.",
        ),
    ),
    "fraud-scorer-latency": (
        "Fraud scorer latency blocks transactions",
        "fraud-ml",
        12,
        _runbook(
            "The fraud scorer sits in the card authorisation path with a 250 ms budget. Above "
            "it the payment gateway times out and **declines the transaction**.",
            "Every timed-out authorisation is a lost payment and an angry customer. At peak "
            "this is about 400 transactions per minute.",
            [
                "Check the gateway's timeout counter: "
                "`sum(rate(gateway_fraud_timeouts_total[1m]))`.",
                "Compare latency per pod in the dashboard; restart a single slow pod.",
                "Check the graph feature lookups (`fraud-graph-features` freshness and Redis "
                "latency): most slow scores wait on features.",
            ],
            [
                "Switch the gateway to the rules-only fallback: "
                '`payments-cli fraud fallback enable --reason "scorer latency"`. Fraud losses '
                "rise slightly but payments flow.",
                "Scale the scorer: `kubectl -n fraud scale deploy/fraud-scorer --replicas=12`.",
                "Disable the graph features flag `fraud.graph_features` if Redis is slow.",
            ],
            "Page the Fraud ML lead immediately; inform #payments-incidents. The payments "
            "duty manager decides on the fallback if it lasts more than 15 minutes.",
        ),
    ),
    "model-error-rate": (
        "Prediction error rate",
        "ml-infra",
        35,
        _runbook(
            "More than 2% of prediction requests answer 5xx.",
            "Callers get no prediction; most fall back to a default, some fail the request.",
            [
                "Read the logs for the firing window (logs link on the alert): look for "
                "`ValueError` on input validation versus `OOMKilled`.",
                "Check whether errors started with a deploy.",
                "Check upstream feature lookups for timeouts.",
            ],
            [
                "Roll back the deployment: `kubectl -n serving rollout undo deploy/<model>`.",
                "If a single input shape fails, add it to the request validator and return 400.",
            ],
            "Escalate to the owning team's lead after 20 minutes; to #ml-infra-oncall for "
            "cluster problems.",
        ),
    ),
    "prediction-volume-drop": (
        "Prediction volume dropped",
        "ml-infra",
        None,
        _runbook(
            "The model serves less than half of the predictions it served a week ago.",
            "Usually an upstream caller stopped calling: the product silently uses defaults.",
            [
                "Check the callers' traffic in the dashboard: is the drop global or one caller?",
                "Check feature flags and recent releases of the calling service.",
                "Rule out a holiday or a marketing campaign ending (business calendar).",
            ],
            [
                "Re-enable the flag or roll back the caller's release.",
                "If the drop is expected, silence the alert for the period with a comment.",
            ],
            "Contact the calling team's on-call through the service catalogue.",
        ),
    ),
    "feature-drift": (
        "Feature drift (PSI)",
        "ml-infra",
        210,
        _runbook(
            "The population stability index of a feature exceeded 0.2 over the last hour.",
            "Predictions may degrade. Drift alone is not an outage: check the business metric.",
            [
                "Open the drift report for the feature named in the alert.",
                "Compare with the upstream pipeline's row counts and null rates.",
                "Check the business-layer alert of the model (CTR, conversion, fraud loss).",
            ],
            [
                "If an upstream bug caused it, fix the pipeline and backfill.",
                "If the population really changed, schedule retraining.",
            ],
            "Ticket to the owning team; no page.",
        ),
    ),
    "recommender-ctr-drop": (
        "Recommendation CTR drop",
        "recsys",
        30,
        _runbook(
            "Click-through rate on recommendations fell 20% below the same hour last week.",
            "Engagement and downstream revenue fall; a silent model problem shows here first.",
            [
                "Check whether impressions changed (a UI experiment changes CTR without any "
                "model problem).",
                "Compare CTR of recommender-v7 against the v6 holdout: if both dropped, it is "
                "not the model.",
                "Check user embedding freshness (`FeatureFreshnessLag` on "
                "user-embedding-pipeline).",
            ],
            [
                "Shift traffic to the holdout: `recsys-ctl traffic set v6=100`.",
                "Pause the experiment that changed the page layout.",
            ],
            "Recommendations lead within business hours; product owner informed by chat.",
        ),
    ),
    "churn-model-serving": (
        "Churn model API (FastAPI)",
        "growth-analytics",
        45,
        _runbook(
            "The churn model is a FastAPI app (uvicorn, 4 workers) called by the CRM.",
            "The CRM shows no churn risk and sends no retention offers while it is down.",
            [
                "`curl -s https://churn.internal.example.com/healthz`.",
                "Check uvicorn worker restarts in the logs link: a memory leak shows as "
                "periodic restarts.",
                "Check the model artefact version in `/version`.",
            ],
            [
                "Restart the deployment: `kubectl -n growth rollout restart deploy/churn-model`.",
                "Pin the previous model version in the registry if the new one misbehaves.",
            ],
            "Growth Analytics lead; the CRM team if the calls themselves fail.",
        ),
    ),
    "llm-provider-errors": (
        "LLM provider errors",
        "llm-platform",
        130,
        _runbook(
            "More than 5% of LLM calls fail (timeouts, 429s or 5xx from the provider).",
            "Agents answer with an apology or hand off to humans; support queues grow.",
            [
                "Check the gateway's per-provider error rate and the provider status page.",
                "Check the rate-limit headroom: `llm_ratelimit_remaining`.",
            ],
            [
                "Fail over to the secondary provider in the LLM gateway: "
                "`gateway-cli route set --primary secondary`.",
                "Reduce concurrency of batch jobs sharing the quota.",
            ],
            "LLM Platform on-call; vendor support ticket if the provider is at fault.",
        ),
    ),
    "agent-handoff-rate": (
        "Agent hands off too often",
        "llm-platform",
        20,
        _runbook(
            "More than 35% of support conversations are handed to a human.",
            "Support staff are overloaded; the agent's business case erodes.",
            [
                "Sample ten handed-off conversations in the trace viewer.",
                "Check whether a tool (order lookup, refunds) errors.",
                "Check retrieval quality: RAG retriever latency and empty results.",
            ],
            [
                "Fix or disable the failing tool; the agent then answers without it.",
                "Roll back the last prompt version.",
            ],
            "LLM Platform lead and the customer care duty manager.",
        ),
    ),
    "feature-pipeline-failed": (
        "Feature pipeline run failed",
        "data-platform",
        40,
        _runbook(
            "A run of a feature pipeline failed.",
            "Features go stale; models read yesterday's values until the next good run.",
            [
                "Open the run in Airflow and read the failing task's log.",
                "Check source table availability and schema changes.",
            ],
            [
                "Clear the failed task to retry once.",
                "If the schema changed, pin the previous schema and open a ticket with the "
                "source team.",
            ],
            "Data Platform on-call; the owning team of the consuming model if freshness "
            "alerts fire too.",
        ),
    ),
    "feature-freshness-lag": (
        "Features are stale",
        "data-platform",
        60,
        _runbook(
            "The newest feature values are more than an hour old.",
            "Online models score with outdated features; quality degrades slowly.",
            [
                "Check the pipeline's last successful run.",
                "Check the online store writer's lag: `feature_store_write_lag_seconds`.",
            ],
            [
                "Trigger a manual materialisation: "
                "`feast materialize-incremental $(date -u +%FT%T)`."
            ],
            "Data Platform on-call.",
        ),
    ),
    "fraud-loss-rate": (
        "Fraud losses above target",
        "fraud-ml",
        95,
        _runbook(
            "Fraud losses (chargebacks) exceed 0.15% of payment volume, or declines spike.",
            "Direct financial loss, or good customers declined.",
            [
                "Split losses by merchant and BIN in the fraud dashboard: an attack concentrates.",
                "Compare score distributions with last week (drift on the score itself).",
            ],
            [
                "Add a temporary rule for the attacked merchant in the rules engine.",
                "Lower the decline threshold only with the risk manager's approval.",
            ],
            "Fraud ML lead and the payments risk manager.",
        ),
    ),
    "service-latency": (
        "Service latency",
        "ml-infra",
        25,
        _runbook(
            "A supporting service's p99 latency is above 500 ms.",
            "Dependent models and agents slow down or time out.",
            [
                "Check saturation (CPU throttling, connection pools).",
                "Check the dependency graph in traces for the slow span.",
            ],
            ["Scale out the service; restart pods stuck in GC."],
            "Owning team's on-call, then #ml-infra-oncall.",
        ),
    ),
}
