"""ci.required-runs and release.traceability hold a required check to the app it is pinned to, as GitHub does:
a commit status of the same name (anyone with `statuses: write` can post one) or another app's check run
cannot outrank the required app's failed run. End to end through the CLI, the real PyGithub-backed provider
against the loopback replay server; and the two checks over the same facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.checks import ci_runs, release
from mlops_gate.cli import main
from mlops_gate.facts.platform import CommitRuns, Run
from tests.support.replay import ReplayServer

SHA = "abc1234def5678abc1234def5678abc1234def56"
REPO = "/repos/acme/churn"
ACTIONS = {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"}
OTHER_APP = {"id": 999, "slug": "helpful-bot", "name": "Helpful bot"}


def check_run(rid: int, conclusion: str, started: str, app: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rid,
        "name": "test",
        "status": "completed",
        "conclusion": conclusion,
        "started_at": started,
        "html_url": f"https://github.com/acme/churn/runs/{rid}",
        "app": app,
    }


def status(sid: int, state: str, created: str) -> dict[str, Any]:
    return {"id": sid, "state": state, "context": "test", "target_url": None, "created_at": created}


def serve(replay: ReplayServer, checks: list[dict[str, Any]], runs: list[dict[str, Any]], st: list[Any]) -> None:
    replay.add("GET", REPO, 200, {"id": 1, "full_name": "acme/churn", "default_branch": "main", "private": True})
    replay.add(
        "GET",
        f"{REPO}/branches/main/protection",
        200,
        {"required_status_checks": {"strict": True, "contexts": [c["context"] for c in checks], "checks": checks}},
    )
    replay.add("GET", f"{REPO}/rules/branches/main", 200, [])
    replay.add("GET", f"{REPO}/commits/{SHA}/check-runs", 200, {"total_count": len(runs), "check_runs": runs})
    replay.add("GET", f"{REPO}/commits/{SHA}/statuses", 200, st)


def gate(replay: ReplayServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            *("check", "--repo", str(tmp_path), "--only", "ci.required-runs", "--format", "json"),
            *("--platform", "github", "--repository", "acme/churn", "--commit", SHA, "--api-url", replay.url),
        ],
        env={"GITHUB_TOKEN": "gh-test-token", "HOME": str(tmp_path)},
    )
    out, err = capsys.readouterr()
    assert out.strip(), err
    (result,) = json.loads(out)["results"]
    return code, result


FAILED_RUN = check_run(1, "failure", "2026-11-27T09:00:00Z", ACTIONS)
LATER_GREEN_STATUS = status(5, "success", "2026-11-27T10:00:00Z")
LATER_GREEN_OTHER_APP = check_run(2, "success", "2026-11-27T10:00:00Z", OTHER_APP)


def test_control_the_required_apps_failed_run_blocks(
    replay: ReplayServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve(replay, [{"context": "test", "app_id": 15368}], [FAILED_RUN], [])
    code, result = gate(replay, tmp_path, capsys)
    assert (code, result["status"]) == (1, "failed")
    assert [v["message"] for v in result["violations"]] == ["test: latest run failure"]


@pytest.mark.parametrize(
    ("runs", "statuses"),
    [([FAILED_RUN], [LATER_GREEN_STATUS]), ([FAILED_RUN, LATER_GREEN_OTHER_APP], [])],
    ids=["a-commit-status", "another-apps-check-run"],
)
def test_a_later_report_of_the_same_name_does_not_outrank_the_pinned_app(
    replay: ReplayServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    runs: list[dict[str, Any]],
    statuses: list[Any],
) -> None:
    serve(replay, [{"context": "test", "app_id": 15368}], runs, statuses)
    code, result = gate(replay, tmp_path, capsys)
    assert (code, result["status"]) == (1, "failed")
    assert [v["message"] for v in result["violations"]] == ["test: latest run failure"]
    assert result["message"] == f"0 of 1 required run(s) succeeded on {SHA[:12]}"


def test_only_another_source_reporting_the_pinned_check_is_missing(
    replay: ReplayServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve(replay, [{"context": "test", "app_id": 15368}], [LATER_GREEN_OTHER_APP], [LATER_GREEN_STATUS])
    code, result = gate(replay, tmp_path, capsys)
    assert (code, result["status"]) == (1, "failed")
    assert [v["message"] for v in result["violations"]] == [
        f"test: no check run from the required app 15368 on {SHA[:12]} (2 report(s) of that name from other "
        "sources do not count)"
    ]


def test_unpinned_every_source_of_the_name_must_pass(
    replay: ReplayServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no app pinned (app_id null, or -1: any source), GitHub requires the check runs and the statuses of
    that name alike: a green status beside a red check run is a mix, and fails."""
    serve(replay, [{"context": "test", "app_id": -1}], [FAILED_RUN], [LATER_GREEN_STATUS])
    code, result = gate(replay, tmp_path, capsys)
    assert (code, result["status"]) == (1, "failed")
    assert [v["message"] for v in result["violations"]] == ["test (check run of github-actions): latest run failure"]


def test_the_pinned_apps_green_rerun_passes(
    replay: ReplayServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rerun = check_run(3, "success", "2026-11-27T11:00:00Z", ACTIONS)
    serve(
        replay,
        [{"context": "test", "app_id": 15368}],
        [FAILED_RUN, rerun],
        [status(6, "failure", "2026-11-27T12:00:00Z")],
    )
    code, result = gate(replay, tmp_path, capsys)
    assert (code, result["status"]) == (0, "passed"), result  # the failed status is not the required source


def test_release_traceability_judges_every_source_of_a_run_name() -> None:
    runs = CommitRuns(
        "github",
        "acme/churn",
        SHA,
        (
            Run(
                "test", "completed", "failure", "check-run", "github-actions", started_at="2026-11-27T09:00:00Z", id="1"
            ),
            Run("test", "completed", "success", "status", started_at="2026-11-27T10:00:00Z", id="5"),
        ),
    )
    link = release._runs_link(runs, release.Params(required=("test",)), SHA)
    assert link[1] == "not passed: test failure (check run of github-actions)"
    assert ci_runs.attempts(runs.runs, "test", "15368") == []
