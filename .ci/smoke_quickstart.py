"""Smoke test of the README's quick start (`make smoke`; CI runs it before the test lanes).

From a fresh clone of the current commit: `make demo` in the background, log in as the demo
admin, fetch every page of the site navigation (templates/base.html) and the on-call page of a
demo alert that is firing now, each expected to answer 200 with the demo's data in it; the demo's
automation action on its firing alert (dry run with the signature masked, then a break-glass run
that the receiver `make demo` serves must accept); then stop the server, whatever happened.
Exits 1 with one line per failure.

The clone reuses the virtualenv this script runs in (`make -o` skips `make install`, which CI
ran just before) unless SMOKE_FRESH_INSTALL=1, which installs a new one inside the clone as a
first-time user would (slower: a full `pip install` from the package index).
Environment: PORT (default: a free one), SMOKE_TIMEOUT seconds to wait for the server (300).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
USERNAME, PASSWORD = "admin", "steward-demo"  # the published demo login (demo/seed.py)

# What a user expects to see, read from the demo database the server uses, so that the checks
# follow the demo data instead of copying it.
FACTS_SCRIPT = """
import json
from urllib.parse import urlsplit
from alerts.automation.models import Action
from alerts.models import AlertRule, Episode
from alerts.catalog.ownership import oncall_runbook_url
from alerts.silences.models import Silence
from fleet.models import AISystem, Team
from runbooks.models import Runbook

firing = (
    Episode.objects.filter(ends_at__isnull=True, rule__isnull=False)
    .select_related("rule").order_by("-starts_at", "pk").first()
)
oncall = None
if firing is not None:
    # Alertmanager sends the series' labels plus the rule's static ones: so does this link.
    labels = {**firing.rule.matchers, **firing.labels}
    url = urlsplit(oncall_runbook_url(firing.rule.alertname, labels))
    oncall = {
        "path": url.path + ("?" + url.query if url.query else ""),
        "alertname": firing.rule.alertname,
        "since": firing.starts_at.strftime("%Y-%m-%d %H:%M"),
    }
def oncall_path(episode):
    labels = {**episode.rule.matchers, **episode.labels}
    url = urlsplit(oncall_runbook_url(episode.rule.alertname, labels))
    return url.path + ("?" + url.query if url.query else "")

automation = None
action = Action.objects.filter(name="Shift traffic to the fallback model").first()
if action is not None:
    episode = (
        Episode.objects.filter(ends_at__isnull=True, rule__runbook_id=action.runbook_id)
        .select_related("rule").order_by("-starts_at", "pk").first()
    )
    if episode is not None:
        automation = {"action": action.pk, "episode": episode.pk, "path": oncall_path(episode)}
print("SMOKE-FACTS", json.dumps({
    "team": Team.objects.order_by("name").values_list("name", flat=True).first(),
    "system": AISystem.objects.order_by("name").values_list("name", flat=True).first(),
    "rule": AlertRule.objects.order_by("alertname").values_list("alertname", flat=True).first(),
    "runbook": Runbook.objects.order_by("title").values_list("title", flat=True).first(),
    "silence": Silence.objects.filter(state="active").order_by("pk")
        .values_list("created_by", flat=True).first(),
    "oncall": oncall,
    "automation": automation,
}))
"""


@dataclass(frozen=True)
class Page:
    path: str
    expects: tuple[str, ...]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        raise SystemExit(f"smoke: {' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"smoke: `make demo` exited ({server.returncode}):\n{tail(log)}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise SystemExit(f"smoke: the demo did not answer within {timeout:.0f} s:\n{tail(log)}")


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def log_in(client: httpx.Client) -> None:
    form = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if form.status_code != 200 or token is None:
        raise SystemExit(f"smoke: /accounts/login/ answered {form.status_code} without a form")
    answer = client.post(
        "/accounts/login/",
        data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
        headers={"Referer": f"{client.base_url}/accounts/login/"},
    )
    if answer.status_code != 302 or "/accounts/login/" in answer.headers.get("location", ""):
        raise SystemExit(f"smoke: logging in as {USERNAME} failed ({answer.status_code})")


def nav_paths() -> list[str]:
    """The links of the site navigation, as base.html has them."""
    base = (REPO / "templates" / "base.html").read_text()
    nav = base[base.index("<nav") : base.index("</nav>")]
    return [p for p in re.findall(r'href="(/[^"]*)"', nav)]


def pages(facts: dict[str, str | None]) -> list[Page]:
    expected = {
        "/": ("Overview",),
        "/fleet/": (facts["system"] or "", facts["team"] or ""),
        "/alerts/": (facts["rule"] or "",),
        "/review/": ("Review",),
        "/runbooks/": (facts["runbook"] or "",),
        "/automation/": ("Runbook automation",),
        "/silences/": ("Silences", facts["silence"] or ""),
        "/scorecards/": (facts["system"] or "",),
        "/api/docs/": ("swagger",),
        "/admin/": ("Site administration",),
    }
    found = nav_paths()
    unknown = [p for p in found if p not in expected]
    if unknown:
        raise SystemExit(f"smoke: new navigation links {unknown}: say what each should show")
    return [Page(path, expected[path]) for path in found]


def check(client: httpx.Client, page: Page) -> str | None:
    try:
        response = client.get(page.path, follow_redirects=True)
    except httpx.HTTPError as error:
        return f"{page.path}: {error!r}"
    if response.status_code != 200:
        return f"{page.path}: answered {response.status_code}"
    if urlsplit(str(response.url)).path.startswith("/accounts/login/"):
        return f"{page.path}: sent to the login page"
    missing = [text for text in page.expects if not text or text not in response.text]
    if missing:
        return f"{page.path} ({response.url}): missing {missing}"
    return None


def check_oncall(client: httpx.Client, oncall: dict[str, str] | None) -> str | None:
    if oncall is None:
        return "no firing demo episode: the demo has nothing firing now for the on-call page"
    response = client.get(oncall["path"])
    if response.status_code != 200:
        return f"{oncall['path']}: answered {response.status_code}"
    firing = response.text.split("<h2>Firing now</h2>", 1)[-1].split("<h2>", 1)[0]
    if oncall["alertname"] not in response.text or f"since {oncall['since']}" not in firing:
        said = " (it says 'Nothing is firing now')" if "Nothing is firing now" in firing else ""
        return (
            f"no firing demo episode on the on-call page: {oncall['path']} does not show "
            f"{oncall['alertname']} firing since {oncall['since']} UTC under 'Firing now'{said}"
        )
    return None


def check_automation(client: httpx.Client, facts: dict[str, Any] | None) -> str | None:
    """The demo's action on its firing alert's on-call page: the dry run shows the request with
    the signature masked, and a break-glass run reaches the receiver the demo serves (it
    verifies the signature) and succeeds."""
    if facts is None:
        return "no demo automation action on a firing alert (make demo sets STEWARD_DEMO=1)"
    path, action = facts["path"], facts["action"]
    page = client.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if (
        page.status_code != 200
        or token is None
        or f"/automation/actions/{action}/" not in page.text
    ):
        return f"{path}: no automation buttons for the demo action ({page.status_code})"
    form = {"csrfmiddlewaretoken": token[1], "episode": str(facts["episode"]), "next": path}
    referer = {"Referer": f"{client.base_url}{path}"}
    dry = client.post(f"/automation/actions/{action}/dry-run/", data=form, headers=referer)
    if dry.status_code != 200 or "X-Steward-Signature: sha256=********" not in dry.text:
        return f"the demo action's dry run answered {dry.status_code} without the masked request"
    glass = {**form, "break_glass": "1", "break_glass_reason": "smoke test of the demo receiver"}
    ran = client.post(
        f"/automation/actions/{action}/run/", data=glass, headers=referer, follow_redirects=True
    )
    runs = ran.text.split('class="automation-runs"', 1)[-1].split("</table>", 1)[0]
    if ran.status_code != 200 or "Break glass" not in runs or "Succeeded" not in runs:
        return "the demo action's break-glass run did not succeed against the demo receiver"
    return None


def smoke(workdir: Path) -> list[str]:
    clone = workdir / "steward"
    run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], cwd=workdir)
    head = run(["git", "rev-parse", "HEAD"], cwd=REPO).strip()
    run(["git", "checkout", "--quiet", head], cwd=clone)  # the commit under test, not a branch tip

    port = int(os.environ.get("PORT") or free_port())
    make = ["make", "demo", f"PORT={port}"]
    if os.environ.get("SMOKE_FRESH_INSTALL") != "1":
        venv = Path(sys.prefix)
        make += [f"VENV={venv}", "-o", f"{venv}/.installed"]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VIRTUAL_ENV")}
    env["STEWARD_BASE_URL"] = base = f"http://127.0.0.1:{port}"
    log = workdir / "demo.log"
    started = time.monotonic()
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603
            make, cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_up(base, server, log, float(os.environ.get("SMOKE_TIMEOUT", "300")))
        print(f"smoke: demo serving on {base} after {time.monotonic() - started:.1f} s")
        python = str(Path(sys.prefix) / "bin" / "python")
        if os.environ.get("SMOKE_FRESH_INSTALL") == "1":
            python = str(clone / ".venv" / "bin" / "python")
        shell = [python, "manage.py", "shell", "-c", FACTS_SCRIPT]
        output = run(shell, clone, {**env, "DEBUG": "1"})
        # Only the marked line: the shell may also log to stdout.
        marked = [line for line in output.splitlines() if line.startswith("SMOKE-FACTS ")]
        if not marked:
            raise SystemExit(f"smoke: reading the demo database printed no facts:\n{output}")
        facts = json.loads(marked[-1].removeprefix("SMOKE-FACTS "))
        with httpx.Client(base_url=base, timeout=60) as client:
            log_in(client)
            failures = [f for page in pages(facts) if (f := check(client, page))]
            oncall = check_oncall(client, facts["oncall"])
            automation = check_automation(client, facts.get("automation"))
        failures += [f for f in (oncall, automation) if f]
        return failures
    finally:
        stop(server)


def stop(server: subprocess.Popen[bytes]) -> None:
    """`make` and the runserver under it share the session started for them."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main() -> int:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="steward-smoke-"))
    # SIGTERM (a cancelled CI job) unwinds through the finally blocks like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        failures = smoke(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    if failures:
        print(f"smoke: FAILED after {elapsed:.1f} s:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    print(f"smoke: quick start OK in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
