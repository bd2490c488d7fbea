"""Hostile files handed to `verify-evidence` and `--facts-in`, and the cost of redaction on a normal run:
peak memory (max RSS) and wall time, each in a fresh process (so each pays the imports a CI job pays).

    python benchmarks/evidence_inputs.py [--runs 3]

Cases: the largest file the gate still parses (just under the 32 MiB cap, a flat JSON array: the most
objects per byte) and one just over it (refused before parsing); nesting far past the parser's recursion
limit and just past the gate's 200-level bound; then `check --facts-in` on the churn-model example without
and with credentials in the environment (every string of the report, facts and output goes through the
redactor in the second).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "churn-model"
PROBE = """
import re, sys, time
from mlops_gate.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
took = time.perf_counter() - start
peak = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)  # this process only
print(f"{code} {took:.3f} {peak}", file=sys.stderr)
"""
SECRETS = {
    "GITHUB_TOKEN": "ghp_" + "A1b2C3d4E5" * 4,
    "MLFLOW_TRACKING_URI": "https://u:p%40ss-w0rd-42@mlflow.example",
    "MLOPS_GATE_PROMETHEUS_USERNAME": "bob",
    "MLOPS_GATE_PROMETHEUS_PASSWORD": "prom pa$$ w/rd&<x>",
    "AZURE_DEVOPS_TOKEN": "azpat0123456789abcdefghijklmnop",
}


def probe(argv: list[str], env: dict[str, str]) -> tuple[int, float, float]:
    """(exit code, seconds in main, peak RSS in MiB) of one fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **env},
        cwd=ROOT,
    )
    code, seconds, rss_kib = out.stderr.strip().splitlines()[-1].split()
    return int(code), float(seconds), int(rss_kib) / 1024


def files(work: Path) -> dict[str, Path]:
    under = work / "under-cap.json"  # "[0,0,...]" just under 32 MiB
    count = (32 * 1024 * 1024 - 64) // 2
    under.write_text("[" + ",".join(["0"] * count) + "]")
    over = work / "over-cap.json"
    with over.open("wb") as fh:
        fh.truncate(33 * 1024 * 1024)
    deep = work / "deep-100k.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    bound = work / "deep-201.json"
    bound.write_text(json.dumps({"kind": "mlops-gate/evidence", "x": json.loads("[" * 201 + "]" * 201)}))
    return {
        "just under 32 MiB (flat array)": under,
        "over 32 MiB": over,
        "nested 100 000 deep": deep,
        "nested 201 deep": bound,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'case':<44} {'command':<16} {'exit':>4} {'median s':>9} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in files(Path(tmp)).items():
            for label, argv in (
                ("verify-evidence", ["verify-evidence", str(path)]),
                ("check --facts-in", ["check", "--facts-in", str(path), "-q"]),
            ):
                runs = [probe(argv, {}) for _ in range(args.runs)]
                print(
                    f"{name:<44} {label:<16} {runs[0][0]:>4} {statistics.median(r[1] for r in runs):>9.3f} "
                    f"{max(r[2] for r in runs):>9.1f}"
                )
    normal = [
        "check",
        "--repo",
        str(EXAMPLE),
        "--facts-in",
        str(EXAMPLE / "facts.json"),
        "--format",
        "json",
        "--output",
        "markdown=/dev/null",
        "--output",
        "sarif=/dev/null",
        "--facts-out",
        "/dev/null",
    ]
    for label, env in (("normal run, no credentials", {}), ("normal run, 5 credentials", SECRETS)):
        runs = [probe(normal, env) for _ in range(args.runs * 3)]
        print(
            f"{label:<44} {'check':<16} {runs[0][0]:>4} {statistics.median(r[1] for r in runs):>9.3f} "
            f"{max(r[2] for r in runs):>9.1f}"
        )


if __name__ == "__main__":
    main()
