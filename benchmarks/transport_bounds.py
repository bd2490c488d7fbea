"""Wall time and peak memory of the hostile inputs the transport now refuses, and what the deadline
machinery costs a normal run.

    PYTHONPATH=. python benchmarks/transport_bounds.py [--rounds 15] [--requests 200] [--unbounded] [--only a,b]

Hostile inputs (each read by the real provider in a child process, so its peak RSS is its own; the
hostile servers run in this process, on loopback):
  drip        GitLab pipelines: headers, then one body byte every 50 ms (a 100 000-byte body: 83 min)
  drip-head   GitLab pipelines: the status line, then one header byte every 50 ms
  huge        GitLab pipelines: a 512 MiB chunked JSON body
  huge-cl     the same with its Content-Length announced
  pages       GitLab pipelines: a `next` link to a new page, forever (cap: MLOPS_GATE_HTTP_MAX_PAGES=100)
  self-page   GitLab pipelines: a `next` link to the page itself
  github-101  GitHub branches: 101 pages of 100
  deep-json   GitHub repository: 4 MB of `[`...`]`
  baseline    the same child importing the same modules, reading nothing (RSS to compare with)
With --unbounded, the drip is also read with a plain requests.Session (timeout=3) for comparison: a
socket timeout bounds one read, so the drip holds it for the whole drip (capped here at 20 s).

Deadline machinery: `--requests` GETs of a 1 KiB and a 256 KiB JSON body from a loopback server, through
requests' stock HTTPAdapter and through the gate's BoundedAdapter, alternated over `--rounds` rounds;
the median per-request time of each, and the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHA = "abc1234def5678abc1234def5678abc1234def56"
GL = "/api/v4/projects/acme%2Fchurn/pipelines"
GH = "/repos/acme/churn"
TIMEOUT = "3"


# --- the child: read one hostile input with the real provider ------------------------------------------


def child(scenario: str, url: str) -> None:
    from mlops_gate.errors import FactError
    from mlops_gate.providers import Context, gitlab
    from mlops_gate.providers import github as gh
    from mlops_gate.target import Target

    env = {"GITLAB_TOKEN": "benchmark-token", "GITHUB_TOKEN": "benchmark-token", "MLOPS_GATE_HTTP_TIMEOUT": TIMEOUT}
    started = time.perf_counter()
    outcome = "read (nothing hostile)"
    try:
        if scenario.startswith("github") or scenario == "deep-json":
            target = Target(platform="github", repository="acme/churn", commit=SHA, api_url=url)
            ctx = Context(root=Path("."), target=target, env=env, scope=frozenset({"release/*"}))
            gh.branch_protection(ctx)
        elif scenario != "baseline":
            target = Target(platform="gitlab", repository="acme/churn", commit=SHA, api_url=url + "/api/v4")
            gitlab.commit_runs(Context(root=Path("."), target=target, env=env))
    except FactError as exc:
        outcome = exc.message
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall_s": round(wall, 2), "peak_rss_mib": round(peak_kib / 1024, 1), "outcome": outcome}))


# --- the parent: hostile servers, children, figures ----------------------------------------------------


def serve(scenario: str) -> Any:
    from tests.support.adversary import Adversary, nested

    server = Adversary().start()
    if scenario == "drip":
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        server.on(GL, server.drip(head, every_s=0.05))
    elif scenario == "drip-head":
        server.on(GL, server.drip(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"x", every_s=0.05))
    elif scenario in ("huge", "huge-cl"):
        server.on(GL, server.stream(512 << 20, declared=scenario == "huge-cl"))
    elif scenario == "pages":

        def endless(req: Any) -> None:
            page = len(server.requests(GL))
            req.json(200, [], {"Link": f'<{server.url}{GL}?page={page + 1}>; rel="next"'})

        server.on(GL, endless)
    elif scenario == "self-page":
        server.on(GL, server.reply(200, [], {"Link": f'<{{url}}{GL}?page=1>; rel="next"'}))
    elif scenario == "github-101":
        server.on(GH, server.reply(200, {"id": 1, "default_branch": "main"}))

        def branches(req: Any) -> None:
            page = len(server.requests(f"{GH}/branches"))
            req.json(
                200,
                [{"name": f"feature/{page}-{i}"} for i in range(100)],
                {"Link": f'<{server.url}{GH}/branches?per_page=100&page={page + 1}>; rel="next"'},
            )

        server.on(f"{GH}/branches", branches)
    elif scenario == "deep-json":
        server.on(GH, server.reply(200, nested(2_000_000)))
    return server


def hostile(scenario: str) -> dict[str, Any]:
    server = serve(scenario)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, __file__, "--child", scenario, server.url],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=600,
        ).stdout
        figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        figures["requests"] = len(server.seen)
        figures["bytes_sent"] = server.sent
        return figures
    finally:
        server.stop()


def unbounded_drip() -> float:
    """A plain requests.Session with timeout=3 against the same drip, stopped after 20 s of it."""
    import requests

    from tests.support.adversary import Adversary

    server = Adversary().start()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    server.on(GL, server.drip(head, every_s=0.05, count=400))  # 400 bytes: 20 s
    started = time.perf_counter()
    try:
        requests.get(f"{server.url}{GL}", timeout=3)
    finally:
        server.stop()
    return time.perf_counter() - started


def overhead(rounds: int, count: int) -> list[dict[str, Any]]:
    import requests
    from requests.adapters import HTTPAdapter

    from mlops_gate.providers import Context, http
    from mlops_gate.target import Target
    from tests.support.adversary import Adversary

    server = Adversary().start()
    sizes = {"1 KiB": 1 << 10, "256 KiB": 256 << 10}  # (the bodies need not be valid JSON: only read)
    for size in sizes.values():
        server.on(f"/{size}", server.reply(200, b"[" + b"0," * (size // 2 - 1) + b"0"))  # `size` bytes
    ctx = Context(root=Path("."), target=Target(), env={})
    sessions = {"stock HTTPAdapter": requests.Session(), "BoundedAdapter": requests.Session()}
    sessions["stock HTTPAdapter"].mount("http://", HTTPAdapter(max_retries=http.retry()))
    sessions["BoundedAdapter"].mount("http://", http.adapter(ctx))
    rows = []
    try:
        for name, size in sizes.items():
            times: dict[str, list[float]] = {k: [] for k in sessions}
            for _ in range(rounds):
                for label, session in sessions.items():
                    assert len(session.get(f"{server.url}/{size}", timeout=20).content) == size  # warm the pool
                    started = time.perf_counter()
                    for _ in range(count):
                        assert len(session.get(f"{server.url}/{size}", timeout=20).content) == size
                    times[label].append((time.perf_counter() - started) / count * 1e6)
            stock, bounded = (statistics.median(times[k]) for k in sessions)
            rows.append(
                {
                    "body": name,
                    "stock_us": round(stock),
                    "bounded_us": round(bounded),
                    "difference_us": round(bounded - stock),
                    "difference_pct": round(100 * (bounded - stock) / stock, 1),
                }
            )
    finally:
        server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("SCENARIO", "URL"))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--unbounded", action="store_true")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    scenarios = ["baseline", "drip", "drip-head", "huge", "huge-cl", "pages", "self-page", "github-101", "deep-json"]
    print(f"hostile inputs (MLOPS_GATE_HTTP_TIMEOUT={TIMEOUT}, other limits at their defaults)")
    for scenario in scenarios if not args.only else args.only.split(","):
        f = hostile(scenario)
        print(
            f"  {scenario:<10} {f['wall_s']:>6.2f} s  peak RSS {f['peak_rss_mib']:>6.1f} MiB  "
            f"{f['requests']:>3} requests  {f['bytes_sent']:>9} bytes sent  -> {f['outcome'][:150]}"
        )
    if args.unbounded:
        print(f"  drip through a plain requests.Session(timeout=3): held {unbounded_drip():.1f} s (the whole drip)")
    print(f"deadline machinery: {args.requests} GETs x {args.rounds} rounds, median per request")
    for row in overhead(args.rounds, args.requests):
        print(
            f"  {row['body']:<8} stock {row['stock_us']:>6} us  bounded {row['bounded_us']:>6} us  "
            f"difference {row['difference_us']:>+5} us ({row['difference_pct']:+.1f} %)"
        )


if __name__ == "__main__":
    main()
