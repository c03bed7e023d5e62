"""The demo fleet: teams, people, AI systems, rule templates and runbooks.

Plain data, read by demo/seed.py. The gaps are deliberate, so that every page and flag has
something to show: a team without members, systems without owner, rules without runbook,
stale and never-reviewed runbooks, an uncatalogued rule, a system with no business alert.
"""

from __future__ import annotations

from typing import Any

# slug, name, timezone, chat channel, members (first one leads)
TEAMS: list[tuple[str, str, str, str, list[tuple[str, str, str]]]] = [
    (
        "fraud-ml",
        "Fraud ML",
        "Europe/Berlin",
        "#fraud-ml-oncall",
        [
            ("lena.vogt", "Lena", "Vogt"),
            ("jonas.keller", "Jonas", "Keller"),
            ("amira.haddad", "Amira", "Haddad"),
        ],
    ),
    (
        "recsys",
        "Recommendations",
        "America/Los_Angeles",
        "#recsys-oncall",
        [
            ("maya.chen", "Maya", "Chen"),
            ("diego.ramirez", "Diego", "Ramírez"),
            ("priya.nair", "Priya", "Nair"),
        ],
    ),
    (
        "growth-analytics",
        "Growth Analytics",
        "America/New_York",
        "#growth-ml",
        [("sam.okafor", "Sam", "Okafor"), ("claire.dubois", "Claire", "Dubois")],
    ),
    (
        "llm-platform",
        "LLM Platform",
        "Europe/London",
        "#llm-platform-oncall",
        [
            ("oliver.grant", "Oliver", "Grant"),
            ("yuki.tanaka", "Yuki", "Tanaka"),
            ("fatima.zahra", "Fatima", "Zahra"),
        ],
    ),
    (
        "data-platform",
        "Data Platform",
        "Asia/Kolkata",
        "#data-platform",
        [("arjun.mehta", "Arjun", "Mehta"), ("sofia.rossi", "Sofia", "Rossi")],
    ),
    (
        "ml-infra",
        "ML Infrastructure",
        "Europe/Amsterdam",
        "#ml-infra-oncall",
        [("pieter.devries", "Pieter", "de Vries"), ("hana.novak", "Hana", "Novák")],
    ),
    # Reorganised away: owns systems, nobody left in it.
    ("pricing-ml", "Pricing ML", "Australia/Sydney", "#pricing-ml", []),
]

_GRAFANA = "https://grafana.example.com/d/{uid}/{slug}?var-{label}={{{label}}}&from={{start_ms}}&to={{end_ms}}"
_JAEGER = "https://jaeger.example.com/search?service={slug}&start={{start}}&end={{end}}&limit=50"
# Grafana Explore on Loki, URL-encoded so that only our placeholders use braces.
_LOKI = (
    "https://grafana.example.com/explore?orgId=1&left=%7B%22datasource%22:%22loki%22,"
    "%22queries%22:%5B%7B%22expr%22:%22%7Bapp%3D%5C%22{slug}%5C%22%7D%22%7D%5D,"
    "%22range%22:%7B%22from%22:%22{{start_ms}}%22,%22to%22:%22{{end_ms}}%22%7D%7D"
)
_KIBANA = (
    "https://kibana.example.com/app/discover#/?_g=(time:(from:'{{start}}',to:'{{end}}'))"
    "&_a=(query:(language:kuery,query:'service.name:%22{slug}%22'))"
)

# slug, name, kind, team (None: no owner), tier, lifecycle, environment, description,
# business alerts [(alertname, severity, expr, summary, runbook)], log style
SYSTEMS: list[dict[str, Any]] = [
    {
        "slug": "fraud-scorer",
        "name": "Fraud scorer",
        "kind": "model",
        "team": "fraud-ml",
        "tier": "critical",
        "business_owner": "Head of Payments Risk",
        "description": "Gradient-boosted scorer called synchronously in card authorisation: when "
        "its p99 latency exceeds 250 ms the payment gateway times out and blocks transactions.",
        "latency_slo": "0.25",
        "latency_runbook": "fraud-scorer-latency",
        "business": [
            (
                "FraudLossRateHigh",
                "page",
                'sum(rate(fraud_chargeback_amount_eur_total{model="fraud-scorer"}[1h])) / '
                "sum(rate(payment_amount_eur_total[1h])) > 0.0015",
                "Fraud losses above 0.15% of payment volume",
                "fraud-loss-rate",
            ),
            (
                "FraudDeclineRateSpike",
                "critical",
                'sum(rate(fraud_decisions_total{model="fraud-scorer",decision="decline"}[15m])) / '
                'sum(rate(fraud_decisions_total{model="fraud-scorer"}[15m])) > 0.04',
                "More than 4% of transactions declined as fraud",
                "fraud-loss-rate",
            ),
        ],
    },
    {
        "slug": "chargeback-predictor",
        "name": "Chargeback predictor",
        "kind": "model",
        "team": "fraud-ml",
        "tier": "high",
        "description": "Nightly batch model ranking disputed transactions for the chargeback team.",
        "business": [
            (
                "ChargebackWinRateLow",
                "ticket",
                'avg_over_time(chargeback_win_ratio{model="chargeback-predictor"}[7d]) < 0.35',
                "Chargeback win rate below 35% over a week",
                None,
            ),
        ],
    },
    {
        "slug": "ocr-document-extractor",
        "name": "OCR document extractor",
        "kind": "model",
        "team": "fraud-ml",
        "tier": "standard",
        "description": "Extracts fields from ID documents during onboarding (KYC).",
    },
    {
        "slug": "fraud-case-summarizer",
        "name": "Fraud case summarizer",
        "kind": "agent",
        "team": "fraud-ml",
        "tier": "standard",
        "description": "LLM agent that drafts case summaries for fraud analysts.",
    },
    {
        "slug": "fraud-graph-features",
        "name": "Fraud graph features",
        "kind": "pipeline",
        "team": "fraud-ml",
        "tier": "high",
        "description": "Hourly Spark job computing device and merchant graph features.",
    },
    {
        "slug": "recommender-v7",
        "name": "Recommender v7",
        "kind": "model",
        "team": "recsys",
        "tier": "critical",
        "business_owner": "VP Product, Discovery",
        "description": "Two-tower recommender for the home feed; watched through click-through "
        "rate because a silent quality drop shows up there first.",
        "business": [
            (
                "RecommendationCTRDrop",
                "critical",
                'sum(rate(recommendation_clicks_total{model="recommender-v7"}[1h])) / '
                'sum(rate(recommendation_impressions_total{model="recommender-v7"}[1h])) < 0.8 * '
                '(sum(rate(recommendation_clicks_total{model="recommender-v7"}[1h] offset 1w)) / '
                'sum(rate(recommendation_impressions_total{model="recommender-v7"}[1h] '
                "offset 1w)))",
                "CTR 20% below the same hour last week",
                "recommender-ctr-drop",
            ),
        ],
    },
    {
        "slug": "recommender-v6",
        "name": "Recommender v6",
        "kind": "model",
        "team": "recsys",
        "tier": "high",
        "lifecycle": "deprecated",
        "description": "Previous recommender, still serving 5% of traffic as a holdout.",
    },
    {
        "slug": "homepage-ranker",
        "name": "Homepage ranker",
        "kind": "model",
        "team": "recsys",
        "tier": "high",
        "description": "LambdaMART ranker ordering homepage modules.",
        "business": [
            (
                "HomepageCTRDrop",
                "warning",
                "sum(rate(homepage_module_clicks_total[1h])) / "
                "sum(rate(homepage_module_impressions_total[1h])) < 0.03",
                "Homepage module CTR below 3%",
                "recommender-ctr-drop",
            ),
        ],
    },
    {
        "slug": "candidate-retrieval",
        "name": "Candidate retrieval",
        "kind": "service",
        "team": "recsys",
        "tier": "high",
        "description": "ANN service (FAISS) returning 500 candidates per request.",
    },
    {
        "slug": "user-embedding-pipeline",
        "name": "User embedding pipeline",
        "kind": "pipeline",
        "team": "recsys",
        "tier": "high",
        "description": "Daily job refreshing user embeddings in the feature store.",
    },
    {
        "slug": "churn-model",
        "name": "Churn model",
        "kind": "model",
        "team": "growth-analytics",
        "tier": "high",
        "business_owner": "Director of Retention",
        "description": "XGBoost churn propensity model served by FastAPI behind the CRM; "
        "high-risk customers get a retention offer.",
        "latency_runbook": "churn-model-serving",
        "error_runbook": "churn-model-serving",
        "business": [
            (
                "RetentionOfferConversionLow",
                "ticket",
                'sum(increase(retention_offer_accepted_total{model="churn-model"}[1d])) / '
                'sum(increase(retention_offer_sent_total{model="churn-model"}[1d])) < 0.08',
                "Retention offers accepted below 8%",
                None,
            ),
        ],
    },
    {
        "slug": "ltv-forecaster",
        "name": "LTV forecaster",
        "kind": "model",
        "team": "growth-analytics",
        "tier": "standard",
        "description": "Customer lifetime value forecast used for bidding.",
    },
    {
        "slug": "marketing-uplift",
        "name": "Marketing uplift model",
        "kind": "model",
        "team": "growth-analytics",
        "tier": "standard",
        "environment": "staging",
        "description": "Uplift model for campaign targeting, in shadow mode.",
    },
    {
        "slug": "event-ingest-pipeline",
        "name": "Event ingest pipeline",
        "kind": "pipeline",
        "team": "growth-analytics",
        "tier": "standard",
        "description": "Kafka to warehouse ingestion of product events.",
    },
    {
        "slug": "support-agent",
        "name": "Customer support agent",
        "kind": "agent",
        "team": "llm-platform",
        "tier": "critical",
        "business_owner": "Head of Customer Care",
        "description": "LLM agent with tool use answering support chats; hands off to humans.",
        "business": [
            (
                "AgentHumanHandoffRateHigh",
                "warning",
                'sum(rate(agent_conversations_total{system="support-agent",outcome="handoff"}'
                "[1h])) / "
                'sum(rate(agent_conversations_total{system="support-agent"}[1h])) > 0.35',
                "More than 35% of conversations handed to a human",
                "agent-handoff-rate",
            ),
        ],
    },
    {
        "slug": "code-review-assistant",
        "name": "Code review assistant",
        "kind": "agent",
        "team": "llm-platform",
        "tier": "high",
        "description": "LLM agent commenting on pull requests.",
        "business": [
            (
                "SuggestionAcceptanceLow",
                "info",
                "sum(increase(review_suggestions_accepted_total[1d])) / "
                "sum(increase(review_suggestions_total[1d])) < 0.15",
                "Fewer than 15% of suggestions accepted",
                None,
            ),
        ],
    },
    {
        "slug": "rag-retriever",
        "name": "RAG retriever",
        "kind": "service",
        "team": "llm-platform",
        "tier": "high",
        "description": "Hybrid BM25 + vector retrieval for the agents.",
    },
    {
        "slug": "llm-gateway",
        "name": "LLM gateway",
        "kind": "service",
        "team": "llm-platform",
        "tier": "critical",
        "description": "Routes agent calls to model providers with fallbacks.",
    },
    {
        "slug": "kb-embedding-pipeline",
        "name": "Knowledge base embedding pipeline",
        "kind": "pipeline",
        "team": "llm-platform",
        "tier": "standard",
        "description": "Chunks and embeds help-centre articles every 30 minutes.",
    },
    {
        "slug": "feature-store-sync",
        "name": "Feature store sync",
        "kind": "pipeline",
        "team": "data-platform",
        "tier": "critical",
        "description": "Materialises offline features to the online store (Redis).",
    },
    {
        "slug": "clickstream-sessionizer",
        "name": "Clickstream sessionizer",
        "kind": "pipeline",
        "team": "data-platform",
        "tier": "high",
        "description": "Flink job building sessions from raw clicks.",
    },
    {
        "slug": "data-quality-monitor",
        "name": "Data quality monitor",
        "kind": "service",
        "team": "data-platform",
        "tier": "standard",
        "description": "Great Expectations checks on feature tables.",
    },
    {
        "slug": "gpu-inference-cluster",
        "name": "GPU inference cluster",
        "kind": "service",
        "team": "ml-infra",
        "tier": "high",
        "description": "Triton servers on the shared A100 pool.",
    },
    {
        "slug": "dynamic-pricing",
        "name": "Dynamic pricing",
        "kind": "model",
        "team": "pricing-ml",
        "tier": "high",
        "description": "Price elasticity model setting delivery fees every 15 minutes.",
        "business": [
            (
                "PricingMarginErosion",
                "critical",
                'avg_over_time(order_margin_ratio{model="dynamic-pricing"}[2h]) < 0.12',
                "Order margin below 12% over two hours",
                None,
            ),
        ],
    },
    {
        "slug": "demand-forecaster",
        "name": "Demand forecaster",
        "kind": "model",
        "team": "pricing-ml",
        "tier": "standard",
        "description": "Hourly demand forecast per city.",
    },
    {
        "slug": "legacy-credit-limit",
        "name": "Legacy credit limit model",
        "kind": "model",
        "team": None,
        "tier": "high",
        "lifecycle": "deprecated",
        "description": "Logistic regression from 2019; its team was dissolved, nobody owns it.",
    },
    {
        "slug": "sales-email-agent",
        "name": "Sales email agent",
        "kind": "agent",
        "team": None,
        "tier": "standard",
        "environment": "staging",
        "description": "Experimental agent drafting outbound sales emails.",
    },
]

LINK_STYLES = {"fraud-ml": "kibana", "growth-analytics": "kibana"}

# Rule templates per kind: alertname, layer, severity, expression, for, summary, runbook.
# `{slug}` is the system, `{label}` its label name (model or system).
RULES_BY_KIND: dict[str, list[tuple[str, str, str, str, str, str, str | None]]] = {
    "model": [
        (
            "ModelLatencyHigh",
            "infra",
            "page",
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket"
            '{{service="{slug}",handler="/predict"}}[5m]))) > {latency_slo}',
            "5m",
            "p99 prediction latency above {latency_slo}s",
            "model-latency-high",
        ),
        (
            "ModelErrorRateHigh",
            "infra",
            "critical",
            'sum(rate(http_requests_total{{service="{slug}",code=~"5.."}}[5m])) / '
            'sum(rate(http_requests_total{{service="{slug}"}}[5m])) > 0.02',
            "5m",
            "More than 2% of prediction requests fail",
            "model-error-rate",
        ),
        (
            "ModelPodMemoryHigh",
            "infra",
            "warning",
            'max(container_memory_working_set_bytes{{pod=~"{slug}-.*"}}) / '
            'max(kube_pod_container_resource_limits{{pod=~"{slug}-.*",resource="memory"}}) > 0.9',
            "15m",
            "Serving pods above 90% of their memory limit",
            None,
        ),
        (
            "PredictionVolumeDrop",
            "ml",
            "warning",
            'sum(rate(model_predictions_total{{model="{slug}"}}[30m])) < 0.5 * '
            'sum(rate(model_predictions_total{{model="{slug}"}}[30m] offset 1w))',
            "30m",
            "Prediction volume below half of last week",
            "prediction-volume-drop",
        ),
        (
            "FeatureDriftHigh",
            "ml",
            "ticket",
            'max by (feature) (feature_drift_psi{{model="{slug}"}}) > 0.2',
            "1h",
            "PSI above 0.2 for {{{{ $labels.feature }}}}",
            "feature-drift",
        ),
        (
            "FeatureNullRateHigh",
            "ml",
            "info",
            'max by (feature) (feature_null_ratio{{model="{slug}"}}) > 0.05',
            "30m",
            "More than 5% nulls in {{{{ $labels.feature }}}}",
            None,
        ),
    ],
    "agent": [
        (
            "LLMTimeToFirstTokenHigh",
            "infra",
            "warning",
            "histogram_quantile(0.95, sum by (le) (rate(llm_time_to_first_token_seconds_bucket"
            '{{system="{slug}"}}[5m]))) > 2',
            "10m",
            "p95 time to first token above 2s",
            "model-latency-high",
        ),
        (
            "LLMProviderErrorRate",
            "infra",
            "critical",
            'sum(rate(llm_requests_total{{system="{slug}",outcome="error"}}[5m])) / '
            'sum(rate(llm_requests_total{{system="{slug}"}}[5m])) > 0.05',
            "5m",
            "More than 5% of LLM calls fail",
            "llm-provider-errors",
        ),
        (
            "GuardrailBlockRateHigh",
            "ml",
            "warning",
            'sum(rate(guardrail_blocks_total{{system="{slug}"}}[15m])) / '
            'sum(rate(llm_requests_total{{system="{slug}"}}[15m])) > 0.1',
            "15m",
            "Guardrails block more than 10% of answers",
            None,
        ),
        (
            "LLMTokenSpendSpike",
            "ml",
            "ticket",
            'sum(increase(llm_tokens_total{{system="{slug}"}}[1h])) > 3 * '
            'avg_over_time(sum(increase(llm_tokens_total{{system="{slug}"}}[1h]))[7d:1h])',
            "0s",
            "Token spend three times the weekly hourly average",
            None,
        ),
    ],
    "pipeline": [
        (
            "FeaturePipelineFailed",
            "infra",
            "critical",
            'increase(pipeline_runs_total{{system="{slug}",status="failed"}}[1h]) > 0',
            "0s",
            "A run of {slug} failed",
            "feature-pipeline-failed",
        ),
        (
            "FeatureFreshnessLag",
            "ml",
            "warning",
            'time() - max(feature_store_last_write_timestamp_seconds{{system="{slug}"}}) > 3600',
            "10m",
            "Features written by {slug} are more than an hour old",
            "feature-freshness-lag",
        ),
        (
            "PipelineDurationHigh",
            "ml",
            "ticket",
            'max(pipeline_run_duration_seconds{{system="{slug}"}}) > 2 * '
            'avg_over_time(max(pipeline_run_duration_seconds{{system="{slug}"}})[7d:1h])',
            "0s",
            "Run took twice its weekly average",
            None,
        ),
        (
            "PipelineRowCountAnomaly",
            "ml",
            "info",
            'abs(1 - sum(pipeline_rows_written{{system="{slug}"}}) / '
            'sum(pipeline_rows_written{{system="{slug}"}} offset 1d)) > 0.3',
            "0s",
            "Rows written differ by more than 30% from yesterday",
            None,
        ),
    ],
    "service": [
        (
            "ServiceLatencyHigh",
            "infra",
            "warning",
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket"
            '{{service="{slug}"}}[5m]))) > 0.5',
            "10m",
            "p99 latency above 500 ms",
            "service-latency",
        ),
        (
            "ServiceErrorRateHigh",
            "infra",
            "critical",
            'sum(rate(http_requests_total{{service="{slug}",code=~"5.."}}[5m])) / '
            'sum(rate(http_requests_total{{service="{slug}"}}[5m])) > 0.01',
            "5m",
            "More than 1% of requests fail",
            "model-error-rate",
        ),
        (
            "ServiceCPUThrottling",
            "infra",
            "info",
            'sum(rate(container_cpu_cfs_throttled_periods_total{{pod=~"{slug}-.*"}}[5m])) / '
            'sum(rate(container_cpu_cfs_periods_total{{pod=~"{slug}-.*"}}[5m])) > 0.25',
            "15m",
            "CPU throttled more than 25% of periods",
            None,
        ),
    ],
}

# Rules that belong to no single system.
FLEET_RULES: list[dict[str, Any]] = [
    {
        "alertname": "GPUNodeMemoryPressure",
        "layer": "infra",
        "severity": "warning",
        "team": "ml-infra",
        "for": "10m",
        "runbook": None,
        "expression": "max by (node) (DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + "
        "DCGM_FI_DEV_FB_FREE)) > 0.95",
        "summary": "GPU memory above 95% on {{ $labels.node }}",
    },
    {
        "alertname": "FeatureStoreOnlineLatencyHigh",
        "layer": "infra",
        "severity": "page",
        "team": None,
        "for": "5m",
        "runbook": "service-latency",
        "expression": "histogram_quantile(0.99, sum by (le) "
        "(rate(feature_store_get_seconds_bucket[5m]))) > 0.02",
        "summary": "Online feature reads above 20 ms p99",
    },
]

# Seen firing in Alertmanager, never registered: Steward discovered it.
UNCATALOGUED_RULE = {"alertname": "KubeJobBackoffLimitReached", "labels": {"namespace": "ml-batch"}}

# (alertname, system) muted: one open-ended, one until a date (days from now).
MUTED_RULES: list[tuple[str, str, int | None]] = [
    ("FeatureNullRateHigh", "marketing-uplift", None),
    ("ModelPodMemoryHigh", "recommender-v6", 14),
]
