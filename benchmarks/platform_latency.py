"""Requests and wall time of the platform checks against a replay server that adds latency.

    PYTHONPATH=. python benchmarks/platform_latency.py [delay_s=0.1]

The replay server answers the GitHub REST payloads of a protected repository; every response is
delayed by `delay_s`. Independent facts are fetched concurrently, so the wall time should stay near
the longest chain of dependent calls (repo -> rules -> ruleset) rather than the sum of all calls.
"""

from __future__ import annotations

import io
import json
import sys
import time
from contextlib import redirect_stdout

from mlops_gate.cli import main
from tests.support.replay import ReplayServer

SHA = "abc1234def5678abc1234def5678abc1234def56"
REPO = "/repos/acme/churn"


def serve(server: ReplayServer) -> None:
    server.add("GET", REPO, 200, {"id": 1, "full_name": "acme/churn", "default_branch": "main"})
    server.add(
        "GET",
        f"{REPO}/branches/main/protection",
        200,
        {
            "required_status_checks": {
                "strict": True,
                "contexts": ["test"],
                "checks": [{"context": "test", "app_id": 1}],
            },
            "required_pull_request_reviews": {
                "dismiss_stale_reviews": True,
                "require_code_owner_reviews": True,
                "required_approving_review_count": 1,
            },
            "enforce_admins": {"enabled": True},
            "allow_force_pushes": {"enabled": False},
            "allow_deletions": {"enabled": False},
            "required_signatures": {"enabled": False},
        },
    )
    server.add(
        "GET",
        f"{REPO}/rules/branches/main",
        200,
        [
            {
                "type": "non_fast_forward",
                "ruleset_id": 7,
                "ruleset_source_type": "Repository",
                "ruleset_source": "acme/churn",
            }
        ],
    )
    server.add(
        "GET", f"{REPO}/rulesets/7", 200, {"id": 7, "name": "main", "enforcement": "active", "bypass_actors": []}
    )
    server.add(
        "GET",
        f"{REPO}/commits/{SHA}/check-runs",
        200,
        {
            "total_count": 1,
            "check_runs": [
                {
                    "id": 1,
                    "name": "test",
                    "status": "completed",
                    "conclusion": "success",
                    "started_at": "2026-11-01T10:00:00Z",
                    "html_url": "https://github.com/acme/churn/runs/1",
                    "app": {"slug": "github-actions"},
                }
            ],
        },
    )
    server.add("GET", f"{REPO}/commits/{SHA}/statuses", 200, [])
    server.add(
        "GET",
        f"{REPO}/environments/production",
        200,
        {
            "name": "production",
            "protection_rules": [
                {
                    "type": "required_reviewers",
                    "prevent_self_review": True,
                    "reviewers": [{"type": "Team", "reviewer": {"slug": "sre"}}],
                }
            ],
            "deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": False},
        },
    )


def run(delay: float) -> tuple[float, int, str]:
    server = ReplayServer(delay_s=delay).start()
    try:
        serve(server)
        argv = [
            "check",
            "--only",
            "vcs.*,ci.required-runs,cd.production-environment",
            "--platform",
            "github",
            "--repository",
            "acme/churn",
            "--commit",
            SHA,
            "--api-url",
            server.url,
            "--repo",
            ".",
            "--format",
            "json",
            "--policy",
            "default",
        ]
        out = io.StringIO()
        start = time.perf_counter()
        with redirect_stdout(out):
            main(argv, env={"GITHUB_TOKEN": "benchmark-token"})
        wall = time.perf_counter() - start
        return wall, len(server.seen), json.loads(out.getvalue())["verdict"]
    finally:
        server.stop()


def main_() -> None:
    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
    run(0.0)  # warm-up: imports the SDK once, so the figures below are I/O only
    base, n, verdict = run(0.0)
    slow, n2, _ = run(delay)
    print(f"GitHub, default policy's platform checks: {n} HTTP requests, verdict {verdict}")
    print(f"no added latency: {base:.3f}s wall")
    print(
        f"{delay * 1000:.0f} ms per request: {slow:.3f}s wall (sequential would be >= {n2 * delay:.2f}s; "
        f"longest dependent chain repo->rules->ruleset = {3 * delay:.2f}s)"
    )


if __name__ == "__main__":
    main_()
