"""monitoring.live against real loopback Prometheus and Alertmanager: requests and wall time per run.

    python benchmarks/prometheus_live.py [RUNS]     # default 10; needs prometheus, alertmanager, prometheus_client

Reports, for 2 and 20 required metrics: HTTP requests per fact (retries included), the fact-reading
time in process (median, p90), and the whole CLI run as a subprocess (interpreter start-up included).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops_gate.engine import collect  # noqa: E402
from mlops_gate.target import Target  # noqa: E402
from tests.support.prometheus_servers import servers  # noqa: E402

METRICS = ["churn_predictions_total", 'churn_latency_seconds_bucket{le="+Inf"}']


def policy(path: Path, metrics: list[str]) -> Path:
    params = {"required_alerts": ["ChurnModelDown"], "targets": {"job": "churn-model"}, "required_metrics": metrics}
    body = {"version": 1, "extends": "default", "checks": {"monitoring.live": {"enabled": True, "params": params}}}
    path.write_text(json.dumps(body))
    return path


def stats(times: list[float]) -> str:
    times = sorted(times)
    return f"median {statistics.median(times) * 1000:.1f} ms, p90 {times[int(0.9 * (len(times) - 1))] * 1000:.1f} ms"


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp, servers(Path(tmp)) as live:
        target = Target(prometheus_url=live.prometheus, alertmanager_url=live.alertmanager)
        repo = Path(tmp) / "repo"
        repo.mkdir()
        for metrics in (METRICS, METRICS + [f"churn_missing_{i}" for i in range(18)]):
            kinds = {"prometheus_state": frozenset(metrics), "alertmanager_state": frozenset()}
            times, requests = [], {}
            for _ in range(runs):
                start = time.perf_counter()
                records = collect(kinds, repo, target, {})
                times.append(time.perf_counter() - start)
                assert all(r.error is None for r in records.values()), records
                requests = {k: r.requests for k, r in records.items()}
            print(f"{len(metrics)} required metrics: requests {requests}; facts read in {stats(times)}")
            cli = [
                sys.executable,
                "-m",
                "mlops_gate",
                "check",
                "--only",
                "monitoring.live",
                "--repo",
                str(repo),
                "--policy",
                str(policy(Path(tmp) / "policy.json", metrics)),
                "--prometheus-url",
                live.prometheus,
                "--alertmanager-url",
                live.alertmanager,
                "--format",
                "json",
            ]
            walls = []
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run(cli, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=ROOT)
                walls.append(time.perf_counter() - start)
            print(f"{len(metrics)} required metrics: CLI run (subprocess) {stats(walls)}")


if __name__ == "__main__":
    main()
