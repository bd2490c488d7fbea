"""The registry checks against a local `mlflow server`: requests per check, gate wall time, and the
import cost of the mlflow client for a run that needs it versus one that does not.

    python benchmarks/mlflow_gate.py [--runs 10]

Starts its own server (sqlite, temporary artifact root) on loopback, seeds it as the tests do, and
runs the gate in fresh processes (so each run pays the imports a CI job pays).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.mlflow_seed import GOOD_SHA, POLICY, REPO, _seed  # noqa: E402
from tests.support.mlflow_server import _start, _stop, _wait  # noqa: E402

CHECKS = ("registry.model-version", "registry.lineage", "registry.metadata", "registry.metrics")


def gate(url: str, work: Path, only: str, *extra: str) -> tuple[float, dict[str, object]]:
    cmd = [
        sys.executable,
        "-m",
        "mlops_gate",
        "check",
        "--policy",
        str(work / "policy.yml"),
        "--repo",
        str(work),
        "--only",
        only,
        "--model",
        "churn@candidate",
        "--commit",
        GOOD_SHA,
        "--repository",
        REPO,
        "--format",
        "json",
        *extra,
    ]
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=work)
    elapsed = time.perf_counter() - start
    return elapsed, json.loads(out.stdout)


def imports_mlflow(*argv: str) -> tuple[float, bool]:
    code = (
        "import sys, time, runpy; t = time.perf_counter(); sys.argv = ['mlops-gate', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('mlops_gate', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(round(time.perf_counter() - t, 3), 'mlflow' in sys.modules, file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False, env={**os.environ}
    )
    seconds, loaded = out.stderr.strip().splitlines()[-1].split()
    return float(seconds), loaded == "True"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "policy.yml").write_text(POLICY)
        server = _start(work / "server", auth=False)
        try:
            _wait(server)
            _seed(server)
            print(f"mlflow server {server.url}; {args.runs} runs each, fresh process per run\n")
            for only in (*CHECKS, "registry.*"):
                facts = work / "facts.json"
                times = []
                for _ in range(args.runs):
                    elapsed, report = gate(server.url, work, only, "--facts-out", str(facts))
                    times.append(elapsed)
                fact = json.loads(facts.read_text())["facts"]["mlflow_model"]
                p90 = sorted(times)[max(0, int(0.9 * len(times)) - 1)]
                print(
                    f"{only:24} requests {fact['requests']:2}  provider {fact['duration_s']:.3f} s  "
                    f"gate wall median {statistics.median(times):.2f} s  p90 {p90:.2f} s"
                    f"  verdict {report['verdict']}"
                )
            os.environ["MLFLOW_TRACKING_URI"] = server.url
            policy = str(work / "policy.yml")
            with_mlflow = [
                imports_mlflow(
                    "check",
                    "--policy",
                    policy,
                    "--repo",
                    str(work),
                    "--only",
                    "registry.*",
                    "--model",
                    "churn@candidate",
                    "--commit",
                    GOOD_SHA,
                    "--format",
                    "json",
                )
                for _ in range(args.runs)
            ]
            files_only = [
                imports_mlflow(
                    "check",
                    "--repo",
                    str(ROOT / "examples" / "churn-model"),
                    "--format",
                    "json",
                    "--skip",
                    "vcs.*,ci.required-runs,cd.production-environment,registry.*",
                )
                for _ in range(args.runs)
            ]
            print(
                f"\nregistry.* run:  median {statistics.median(s for s, _ in with_mlflow):.3f} s, "
                f"imports mlflow: {all(m for _, m in with_mlflow)}"
            )
            print(
                f"files-only run:  median {statistics.median(s for s, _ in files_only):.3f} s, "
                f"imports mlflow: {any(m for _, m in files_only)}"
            )
            mlflow_import = [
                float(
                    subprocess.run(
                        [
                            sys.executable,
                            "-c",
                            "import time; t = time.perf_counter(); from mlflow import MlflowClient; "
                            "print(time.perf_counter() - t)",
                        ],
                        capture_output=True,
                        text=True,
                        check=False,
                        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
                    ).stdout
                )
                for _ in range(args.runs)
            ]
            print(f"`from mlflow import MlflowClient` alone: median {statistics.median(mlflow_import):.3f} s")
        finally:
            _stop(server)


if __name__ == "__main__":
    main()
