"""Start-up: CPU time (user + system, of the gate's process) of --version and of the files-only example.

    python benchmarks/startup.py            # 20 runs each: median, p90 and min of CPU seconds, and wall median
    python benchmarks/startup.py 20 --against /tmp/base   # the same runs, interleaved, with the package in
                                            # /tmp/base (e.g. `git archive main | tar -x -C /tmp/base`) first on
                                            # PYTHONPATH: before/after on the same machine under the same load

CPU time, not wall time: the reference machine has 2 cores shared with other work, so wall time measures the
neighbours. Runs are interleaved (each case: one run of each tree in turn) so that load drifts alike for both.

Targets on the 2-core reference machine (issue 17): --version < 0.10 s, the files-only example (the eight
checks that read only repository files) <= 0.30 s of CPU.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOOD = str(ROOT / "examples" / "churn-model")
# the eight checks that read only the repository's files (no platform, registry, image or Prometheus)
FILES_ONLY = ",".join(
    (
        "cd.deploy-via-pipeline",
        "ci.pr-pipeline",
        "image.base-pinned",
        "image.digest-pinned",
        "monitoring.alert-routing",
        "monitoring.alert-rules",
        "monitoring.drift-monitor",
        "orchestration.workflow-defined",
    )
)
GATE = [sys.executable, "-m", "mlops_gate"]
CASES = {
    "--version": [*GATE, "--version"],
    "check files-only example (json)": [*GATE, "check", "--repo", GOOD, "--only", FILES_ONLY, "--format", "json"],
    "check files-only example (console)": [*GATE, "check", "--repo", GOOD, "--only", FILES_ONLY],
    "check --facts-in (all checks, demo)": [*GATE, "check", "--repo", GOOD, "--facts-in", f"{GOOD}/facts.json"],
}


def once(cmd: list[str], pythonpath: str | None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run (from the tree's own folder: `-m` puts it first on sys.path)."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env, cwd=pythonpath or ROOT
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def line(name: str, runs: list[tuple[float, float]]) -> str:
    cpu = sorted(c for c, _ in runs)
    p90 = cpu[min(len(cpu) - 1, int(len(cpu) * 0.9))]
    wall = statistics.median(w for _, w in runs)
    return f"{name:<48} cpu median {statistics.median(cpu):.3f}s  p90 {p90:.3f}s  min {cpu[0]:.3f}s  (wall {wall:.3f}s)"


def main(argv: list[str]) -> None:
    runs = int(argv[0]) if argv and argv[0].isdigit() else 20
    against = argv[argv.index("--against") + 1] if "--against" in argv else None
    trees = {"this tree": None, **({f"against {against}": against} if against else {})}
    print(f"python {sys.version.split()[0]}, {runs} runs each, load average {os.getloadavg()[0]:.1f}")
    for name, cmd in CASES.items():
        results: dict[str, list[tuple[float, float]]] = {t: [] for t in trees}
        for _ in range(runs):
            for tree, path in trees.items():
                results[tree].append(once(cmd, path))
        for tree, got in results.items():
            print(line(f"{name}{'' if tree == 'this tree' else ' ' + tree}", got))


if __name__ == "__main__":
    main(sys.argv[1:])
