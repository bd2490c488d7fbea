"""Start-up and files-only wall time, and what each imports.

    python benchmarks/startup.py            # 20 runs each, median and p90 in seconds

Targets on the 2-core reference machine: --version < 0.15 s, files-only check of the example < 0.5 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the example gates its GitHub repository and MLflow model too; a files-only run skips those checks
FILES_ONLY = ["--skip", "vcs.*,ci.required-runs,cd.production-environment,registry.*"]
GOOD = str(ROOT / "examples" / "churn-model")
GATE = [sys.executable, "-m", "mlops_gate"]
CASES = {
    "--version": [*GATE, "--version"],
    "check (files-only, good example, json)": [*GATE, "check", "--repo", GOOD, "--format", "json", *FILES_ONLY],
    "check (files-only, good example, console)": [*GATE, "check", "--repo", GOOD, *FILES_ONLY],
    "check --facts-in (all checks, demo)": [*GATE, "check", "--repo", GOOD, "--facts-in", f"{GOOD}/facts.json"],
}


def measure(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return sorted(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"python {sys.version.split()[0]}, {runs} runs each")
    for name, cmd in CASES.items():
        t = measure(cmd, runs)
        p90 = t[min(len(t) - 1, int(len(t) * 0.9))]
        print(f"{name:<45} median {statistics.median(t):.3f}s  p90 {p90:.3f}s  min {t[0]:.3f}s")


if __name__ == "__main__":
    main()
