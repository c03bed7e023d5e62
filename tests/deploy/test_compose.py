"""docker-compose.yml cannot run here, so its wiring is checked by reading it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STEWARD_SERVICES = ("web", "worker", "beat")
_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def load(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load("docker-compose.yml")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def resolve(text: str, env: dict[str, str]) -> str:
    """Compose-style interpolation, with .env.example's values or the inline defaults."""

    def one(match: re.Match[str]) -> str:
        name, operator, default = match.group(1), match.group(2) or "", match.group(3) or ""
        value = env.get(name, "")
        return value if value or "-" not in operator else default

    return _VARIABLE.sub(one, text)


def volumes_of(service: dict[str, Any]) -> list[str]:
    return [
        v if isinstance(v, str) else f"{v['source']}:{v['target']}"
        for v in service.get("volumes", [])
    ]


def test_every_dependency_is_a_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", [])
        for dependency in depends_on if isinstance(depends_on, list) else depends_on.keys():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert dependency != name


def test_every_named_volume_is_declared_and_used(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in compose["services"].items():
        for volume in volumes_of(service):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/", "$")):
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_every_file_mounted_from_the_repository_exists(compose: dict[str, Any]) -> None:
    mounted = 0
    for name, service in compose["services"].items():
        for volume in volumes_of(service):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
                mounted += 1
    assert mounted >= 5
    assert (ROOT / "Dockerfile").is_file()


def test_every_variable_is_documented_in_env_example(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    referenced = {match.group(1) for match in _VARIABLE.finditer(text)}
    referenced |= {secret["environment"] for secret in compose["secrets"].values()}
    assert referenced, "no variables found: the pattern is broken"
    missing = referenced - env_example.keys()
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_env_example_holds_no_secret_and_env_is_ignored(env_example: dict[str, str]) -> None:
    for name in (
        "SECRET_KEY",
        "POSTGRES_PASSWORD",
        "STEWARD_METRICS_TOKEN",
        "STEWARD_INGEST_TOKEN",
        "GRAFANA_ADMIN_PASSWORD",
    ):
        assert env_example[name] == "", f"{name} must be empty in .env.example"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_published_host_ports_do_not_collide(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    every_address = "0.0.0.0"  # noqa: S104 - what a port without an address binds to
    seen: list[tuple[str, str, str]] = []
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            parts = resolve(str(port), env_example).split(":")
            address, host_port = (
                (parts[0], parts[1]) if len(parts) == 3 else (every_address, parts[0])
            )
            assert host_port.isdigit(), f"{name}: unresolved port {port}"
            for other_address, other_port, other in seen:
                overlap = every_address in {address, other_address} or address == other_address
                assert not (overlap and host_port == other_port), (
                    f"{name} and {other} both publish {host_port}"
                )
            seen.append((address, host_port, name))
    assert len(seen) >= 4


def test_web_worker_and_beat_share_image_and_settings(compose: dict[str, Any]) -> None:
    services = compose["services"]
    web = services["web"]
    for name in STEWARD_SERVICES:
        service = services[name]
        assert service["image"] == web["image"]
        assert service["build"] == web["build"] == "."
        assert service["environment"] == web["environment"], f"{name} differs from web"
        assert service.get("env_file") == web.get("env_file")
        assert service["tmpfs"] == web["tmpfs"]
    environment = web["environment"]
    assert environment["DEBUG"] == "0"
    assert environment["PROMETHEUS_MULTIPROC_DIR"] in web["tmpfs"]
    assert "postgres:5432" in environment["DATABASE_URL"]
    assert urlparse(environment["CELERY_BROKER_URL"]).hostname == "redis"
    assert "web" in environment["ALLOWED_HOSTS"].split(",")


def test_exactly_one_beat(compose: dict[str, Any]) -> None:
    beat = compose["services"]["beat"]
    assert beat["deploy"]["replicas"] == 1
    assert "scale" not in beat
    assert "beat" in beat["command"]


def test_web_migrates_before_serving_with_gunicorn(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["web"]["command"])
    assert command.index("migrate") < command.index("install_runbooks") < command.index("gunicorn")
    assert "deploy/gunicorn.conf.py" in command
    assert (ROOT / "deploy" / "gunicorn.conf.py").is_file()


def test_every_service_has_a_healthcheck_and_restart_policy(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert service.get("restart") in {"unless-stopped", "always"}, f"{name} restart policy"


def test_healthcheck_scripts_exist(compose: dict[str, Any]) -> None:
    for name in ("web", "beat"):
        test = compose["services"][name]["healthcheck"]["test"]
        assert "deploy/healthcheck.py" in test
    assert (ROOT / "deploy" / "healthcheck.py").is_file()


def test_grafana_is_optional(compose: dict[str, Any]) -> None:
    assert compose["services"]["grafana"]["profiles"] == ["grafana"]
    for name, service in compose["services"].items():
        depends_on = service.get("depends_on", {})
        assert "grafana" not in depends_on, f"{name} must not need the optional grafana"


def _secret_path(service: dict[str, Any], secret: str) -> str:
    assert secret in service.get("secrets", []), f"secret {secret} not mounted"
    return f"/run/secrets/{secret}"


def test_prometheus_scrapes_steward_with_the_mounted_token_and_loads_the_rules(
    compose: dict[str, Any],
) -> None:
    prometheus_service = compose["services"]["prometheus"]
    config = load("deploy/prometheus/prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    web = jobs["steward-web"]
    assert web["static_configs"][0]["targets"] == ["web:8000"]
    assert web["metrics_path"] == "/metrics"
    token_file = web["authorization"]["credentials_file"]
    assert token_file == _secret_path(prometheus_service, "metrics_token")
    assert compose["secrets"]["metrics_token"]["environment"] == "STEWARD_METRICS_TOKEN"
    port = compose["services"]["web"]["environment"]["STEWARD_WORKER_METRICS_PORT"]
    assert jobs["steward-worker"]["static_configs"][0]["targets"] == [f"worker:{port}"]

    mounts = dict(v.split(":")[:2] for v in volumes_of(prometheus_service))
    config_dir = Path(mounts["./deploy/prometheus/prometheus.yml"]).parent
    for rule_file in config["rule_files"]:
        assert (ROOT / "deploy" / "prometheus" / rule_file).is_file()
        assert mounts[f"./deploy/prometheus/{rule_file}"] == str(config_dir / rule_file)
    target = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0]
    assert target.split(":")[0] in compose["services"]


def test_alertmanager_posts_into_steward_with_a_token_file(compose: dict[str, Any]) -> None:
    config = load("deploy/alertmanager/alertmanager.yml")
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert config["route"]["receiver"] == "steward"
    webhook = receivers["steward"]["webhook_configs"][0]
    url = urlparse(webhook["url"])
    assert url.hostname == "web"
    assert url.hostname in compose["services"]
    assert url.port == 8000
    assert url.path == "/api/v1/integrations/alertmanager/"
    assert webhook["send_resolved"] is True
    authorization = webhook["http_config"]["authorization"]
    assert authorization.get("type", "Bearer") == "Bearer"
    assert "credentials" not in authorization
    service = compose["services"]["alertmanager"]
    assert authorization["credentials_file"] == _secret_path(service, "ingest_token")
    assert compose["secrets"]["ingest_token"]["environment"] == "STEWARD_INGEST_TOKEN"


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboard(
    compose: dict[str, Any],
) -> None:
    datasources = load("deploy/grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert urlparse(datasources[0]["url"]).hostname == "prometheus"
    providers = load("deploy/grafana/provisioning/dashboards/steward.yml")["providers"]
    mounts = dict(v.split(":")[:2] for v in volumes_of(compose["services"]["grafana"]))
    assert mounts["./deploy/grafana/dashboards"] == providers[0]["options"]["path"]
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/steward.json").read_text())
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert uids == {datasources[0]["uid"]}
