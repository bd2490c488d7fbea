"""Real Prometheus and Alertmanager on loopback for the live monitoring tests (session fixtures).

Prometheus scrapes a tiny in-process `prometheus_client` exporter every second and evaluates the
rules below every second; a second job points at a port nobody listens on (a target that is down).
A second Prometheus sits behind basic auth (`--web.config.file`). Import the fixtures into a test
module (`from tests.support.prometheus_servers import ...`); they skip when the binaries are absent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")

# bcrypt (cost 4) of "s3cret", made once with crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
AUTH_USER, AUTH_PASSWORD = "gate", "s3cret"
AUTH_HASH = "$2b$04$LLShi2qO2ydDEKi9/6uLAuyUGwTkFgKq5O1fh6cRe0oOQkOwc.CsK"

RULES = """\
groups:
  - name: churn
    rules:
      - record: job:churn_predictions:rate1m
        expr: sum by (job) (rate(churn_predictions_total[1m]))
      - alert: ChurnModelDown
        expr: up{job="churn-model"} == 0
        for: 1m
        labels: {severity: critical, team: ml}
        annotations: {summary: churn model down, runbook_url: "https://runbooks.example.com/churn"}
      - alert: ChurnLatencyHigh
        expr: histogram_quantile(0.99, sum by (le) (rate(churn_latency_seconds_bucket[1m]))) > 5
        for: 5m
        labels: {severity: warning, team: ml}
        annotations: {summary: churn latency high, runbook_url: "https://runbooks.example.com/churn"}
  - name: broken
    rules:
      # one series matched on() against every histogram bucket: each evaluation fails at run time
      - alert: ChurnRuleBroken
        expr: churn_predictions_total * on() churn_latency_seconds_bucket > 0
        labels: {severity: warning, team: ml}
  - name: shadow
    rules:
      - alert: ShadowModelDriftCritical
        expr: vector(1)
        labels: {severity: critical, team: ml, model: shadow}
        annotations: {summary: shadow model drifts, runbook_url: "https://runbooks.example.com/shadow"}
"""

ALERTMANAGER_CONFIG = """\
route:
  receiver: team-ml
  group_by: [alertname]
  routes:
    - matchers: ['model="shadow"']
      receiver: "null"
receivers:
  - name: team-ml
    webhook_configs:
      - url: http://127.0.0.1:9/hook
  - name: "null"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, auth: tuple[str, str] | None = None, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(_request(url, auth), timeout=timeout) as resp:
        return json.load(resp)


def _request(url: str, auth: tuple[str, str] | None) -> urllib.request.Request:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    return req


def wait_for(
    what: str, probe: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, limit: float = 30.0
) -> None:
    """Poll `probe` with short timeouts until it holds; fail with the server's log otherwise."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if probe():
                return
        except (OSError, ValueError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not ready after {limit} s:\n{log.read_text()[-3000:]}")


def _ready(url: str, auth: tuple[str, str] | None = None) -> Callable[[], bool]:
    def probe() -> bool:
        with urllib.request.urlopen(_request(f"{url}/-/ready", auth), timeout=1) as resp:
            return bool(resp.status == 200)

    return probe


@dataclass(frozen=True)
class Servers:
    prometheus: str
    alertmanager: str
    exporter: str
    down_target: str


def _start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _exporter() -> tuple[int, Any]:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

    registry = CollectorRegistry()
    Counter("churn_predictions_total", "Predictions served", registry=registry).inc(42)
    Histogram("churn_latency_seconds", "Prediction latency", registry=registry).observe(0.05)
    Gauge("churn_model_info", "Model version", registry=registry).set(1)
    port = free_port()
    started = start_http_server(port, addr="127.0.0.1", registry=registry)
    return port, started[0] if isinstance(started, tuple) else None


def _prometheus_config(exporter: int, down: int) -> str:
    return f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 500ms}}
rule_files: [rules.yml]
scrape_configs:
  - job_name: churn-model
    static_configs: [{{targets: ["127.0.0.1:{exporter}"], labels: {{team: ml}}}}]
  - job_name: churn-shadow
    static_configs: [{{targets: ["127.0.0.1:{down}"]}}]
"""


def _prometheus(tmp: Path, name: str, exporter: int, down: int, web_config: str | None = None) -> tuple[str, Any]:
    assert PROMETHEUS is not None
    base = tmp / name
    base.mkdir()
    (base / "rules.yml").write_text(RULES)
    (base / "prometheus.yml").write_text(_prometheus_config(exporter, down))
    port = free_port()
    cmd = [
        PROMETHEUS,
        f"--config.file={base / 'prometheus.yml'}",
        f"--storage.tsdb.path={base / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    if web_config:
        (base / "web.yml").write_text(web_config)
        cmd.append(f"--web.config.file={base / 'web.yml'}")
    return f"http://127.0.0.1:{port}", (_start(cmd, base / "log.txt"), base / "log.txt")


def _evaluated(url: str, auth: tuple[str, str] | None = None) -> bool:
    """Every rule evaluated after the first scrape (the broken one failing), the always-firing alert firing."""
    rules = get_json(f"{url}/api/v1/rules", auth)["data"]["groups"]
    targets = get_json(f"{url}/api/v1/targets?state=active", auth)["data"]["activeTargets"]
    alerts = get_json(f"{url}/api/v1/alerts", auth)["data"]["alerts"]
    return (
        {r["name"]: r["health"] for g in rules for r in g["rules"]}
        == {
            "job:churn_predictions:rate1m": "ok",
            "ChurnModelDown": "ok",
            "ChurnLatencyHigh": "ok",
            "ChurnRuleBroken": "err",
            "ShadowModelDriftCritical": "ok",
        }
        and {t["labels"]["job"]: t["health"] for t in targets} == {"churn-model": "up", "churn-shadow": "down"}
        and any(a["state"] == "firing" for a in alerts)
    )


@contextlib.contextmanager
def servers(tmp: Path) -> Iterator[Servers]:
    """Prometheus (open), Alertmanager and the exporter, ready and evaluated (also used by benchmarks/)."""
    assert PROMETHEUS is not None and ALERTMANAGER is not None
    exporter, http_server = _exporter()
    down = free_port()
    prom_url, (prom, prom_log) = _prometheus(tmp, "prometheus", exporter, down)
    (tmp / "am").mkdir()
    (tmp / "am" / "alertmanager.yml").write_text(ALERTMANAGER_CONFIG)
    am_port = free_port()
    am_url = f"http://127.0.0.1:{am_port}"
    am_log = tmp / "am" / "log.txt"
    am = _start(
        [
            ALERTMANAGER,
            f"--config.file={tmp / 'am' / 'alertmanager.yml'}",
            f"--storage.path={tmp / 'am' / 'data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        am_log,
    )
    try:
        wait_for("alertmanager", _ready(am_url), am, am_log)
        wait_for("prometheus", _ready(prom_url), prom, prom_log)
        wait_for("prometheus rules and scrapes", lambda: _evaluated(prom_url), prom, prom_log)
        yield Servers(prom_url, am_url, f"127.0.0.1:{exporter}", f"127.0.0.1:{down}")
    finally:
        _stop(prom)
        _stop(am)
        if http_server is not None:
            http_server.shutdown()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if PROMETHEUS is None or ALERTMANAGER is None:
        pytest.skip("prometheus/alertmanager not on PATH: install Debian's `prometheus` and `prometheus-alertmanager`")
    with servers(tmp_path_factory.mktemp("live")) as found:
        yield found


@pytest.fixture(scope="session")
def live_auth(tmp_path_factory: pytest.TempPathFactory, live: Servers) -> Iterator[str]:
    """A second Prometheus behind basic auth (its own --web.config.file)."""
    tmp = tmp_path_factory.mktemp("live-auth")
    exporter = int(live.exporter.rsplit(":", 1)[1])
    down = int(live.down_target.rsplit(":", 1)[1])
    web = f"basic_auth_users:\n  {AUTH_USER}: {AUTH_HASH}\n"
    url, (proc, log) = _prometheus(tmp, "prometheus", exporter, down, web_config=web)
    try:
        auth = (AUTH_USER, AUTH_PASSWORD)
        wait_for("prometheus (auth)", _ready(url, auth), proc, log)
        wait_for("prometheus (auth) rules and scrapes", lambda: _evaluated(url, auth), proc, log)
        yield url
    finally:
        _stop(proc)
