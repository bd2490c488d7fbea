"""`mlops-gate fleet` over a simulated GitHub organisation on the replay server, every response delayed.

    PYTHONPATH=. python benchmarks/fleet.py [--repos 1000] [--delay 0.1] [--jobs 16] [--shards 1,4,16] [--files]

Reports, for each shard count: wall time of the slowest shard (what a CI matrix with one runner per shard
waits for) and of all shards one after another, requests sent and counted (a `304 Not Modified` to a
conditional request is not counted against GitHub's primary rate limit), requests per judged repository,
peak memory (max RSS of the fleet process, VmHWM); then the same fleet again with the ETag cache the cold
run filled. From those: how many repositories one token audits per hour, bound by its 5,000 requests an hour
(a personal access token; GitHub Apps on Enterprise Cloud get 15,000) and by the wall time.

Each shard runs in its own process (as a CI job would), judging with `--jobs` repositories at once; the
organisation is tests/support/fleet_org.py's (20% of repositories without branch protection and 25% without
a production environment: each costs a counted 404 even when warm, GitHub sends no ETag with a 404).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support import fleet_org
from tests.support.replay import ReplayServer

ROOT = Path(__file__).resolve().parents[1]
PRIMARY_LIMIT = 5000
PROBE = """
import re, sys
from mlops_gate.cli import main
code = main(sys.argv[1:])
peak = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
print(f"PEAK {peak}", file=sys.stderr)
sys.exit(code)
"""


EXTRA: list[str] = []  # --files: the file checks on each repository's archive too


def shard(server: ReplayServer, k: int, n: int, jobs: int, cache: Path, out: Path) -> tuple[dict[str, Any], float, int]:
    argv = ["fleet", "--platform", "github", "--owner", "acme", "--api-url", server.url, "-q", *EXTRA]
    argv += ["--shard", f"{k}/{n}", "--jobs", str(jobs), "--cache-dir", str(cache), "--output", f"json={out}"]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        env={"GITHUB_TOKEN": "bench-token", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"shard {k}/{n} exited {proc.returncode}: {proc.stderr[-2000:]}")
    peak_kb = int(proc.stderr.rsplit("PEAK ", 1)[1].split()[0])
    return json.loads(out.read_text()), took, peak_kb


def fleet(server: ReplayServer, n: int, jobs: int, tmp: Path, label: str) -> dict[str, Any]:
    """Every shard of n (cold, a cache directory per shard as the CI examples keep them), then again warm."""
    out: dict[str, Any] = {"shards": n}
    for phase in ("cold", "warm"):
        walls, sent, counted, judged, peaks = [], 0, 0, 0, []
        for k in range(1, n + 1):
            data, took, peak = shard(server, k, n, jobs, tmp / f"{label}-cache-{k}", tmp / f"{label}-{k}.json")
            walls.append(took)
            peaks.append(peak)
            sent += data["requests"]["sent"]
            counted += data["requests"]["counted"]
            judged += data["summary"]["judged"]
        out[phase] = {
            "judged": judged,
            "sent": sent,
            "counted": counted,
            "counted_per_repo": round(counted / judged, 2),
            "sent_per_repo": round(sent / judged, 2),
            "slowest_shard_s": round(max(walls), 1),
            "all_shards_s": round(sum(walls), 1),
            "peak_rss_mib": round(max(peaks) / 1024, 1),
            "repos_per_token_hour_by_budget": int(PRIMARY_LIMIT / (counted / judged)) if counted else None,
            "repos_per_hour_by_time": int(judged / max(walls) * 3600),  # one runner per shard
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--shards", default="1,4,16")
    parser.add_argument("--files", action="store_true", help="fleet --files: archives fetched and file checks run")
    args = parser.parse_args()
    EXTRA[:] = ["--files"] if args.files else []
    server = ReplayServer(delay_s=args.delay, resolver=fleet_org.github(args.repos), etags=True).start()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="mlops-gate-fleet-bench-") as tmp:
            for n in (int(s) for s in args.shards.split(",")):
                results.append(fleet(server, n, args.jobs, Path(tmp), f"s{n}"))
                print(json.dumps(results[-1]), flush=True)
    finally:
        server.stop()
    files = ", --files" if args.files else ""
    print(f"\n{args.repos} repositories, {args.delay * 1000:.0f} ms per request, --jobs {args.jobs} per shard{files}")
    head = f"{'shards':>6} {'phase':>5} {'judged':>6} {'sent/repo':>9} {'counted/repo':>12} {'slowest shard s':>15}"
    print(head + f" {'all shards s':>12} {'peak MiB':>8} {'repos/token-hour':>16}")
    for r in results:
        for phase in ("cold", "warm"):
            p = r[phase]
            print(
                f"{r['shards']:>6} {phase:>5} {p['judged']:>6} {p['sent_per_repo']:>9} {p['counted_per_repo']:>12} "
                f"{p['slowest_shard_s']:>15} {p['all_shards_s']:>12} {p['peak_rss_mib']:>8} "
                f"{p['repos_per_token_hour_by_budget']:>16}"
            )


if __name__ == "__main__":
    main()
