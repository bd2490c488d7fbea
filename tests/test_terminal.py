"""What a person sees at a terminal: the gate run in a pseudo-terminal (and a tmux pane), its screen asserted.

The header with the target read from the checkout and where each value came from; the live progress line while a
loopback server is slow, and the timeout said as one; the line per area of checks that did not run; blocking said
in words when there is no colour; every policy error in one run; colour, width and a closed pipe."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import terminal
from tests.support.adversary import Adversary, Servers, servers
from tests.support.git_repos import GIT_ENV, git

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "examples" / "churn-model"
BAD = ROOT / "examples" / "fraud-model"
PLATFORM_CHECKS = "vcs.*,ci.required-runs,cd.production-environment,registry.*"


@pytest.fixture
def adversaries() -> Iterator[Servers]:
    yield from servers()


def checkout(tmp_path: Path, remote: str = "git@github.com:acme/churn-model.git") -> tuple[Path, str]:
    """The churn example without its policy (the default profile applies, no target: block), committed on
    `main` with `origin` at `remote`; returns the repository and HEAD's commit."""
    repo = tmp_path / "churn"
    shutil.copytree(GOOD, repo, ignore=shutil.ignore_patterns("facts.json", ".mlops-gate.yml"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", remote)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo, git(repo, "rev-parse", "HEAD")


def env(**extra: str) -> dict[str, str]:
    return terminal.gate_env({**GIT_ENV, **extra})


def test_header_shows_the_target_read_from_the_checkout_and_where_each_value_came_from(tmp_path: Path) -> None:
    repo, sha = checkout(tmp_path)
    screen = terminal.run(
        ["check", "--repo", str(repo), "--skip", PLATFORM_CHECKS, "--commit", sha],
        env(NO_COLOR="1", MLOPS_GATE_BRANCH="release/1.0"),
    )
    text = screen.text
    assert screen.code == 0, text
    assert re.search(r"^platform +github +\(checkout: remote origin\)$", text, re.M), text
    assert re.search(r"^repository +acme/churn-model +\(checkout: remote origin\)$", text, re.M)
    assert re.search(rf"^commit +{sha} +\(flag\)$", text, re.M)  # a flag wins over HEAD
    assert re.search(r"^branch +release/1\.0 +\(MLOPS_GATE_BRANCH\)$", text, re.M)  # the environment over HEAD
    assert "policy builtin:default" in text  # no policy file: the default profile, said in the header


def test_without_flags_head_and_the_current_branch_are_the_commit_and_branch(tmp_path: Path) -> None:
    repo, sha = checkout(tmp_path, "https://gitlab.com/acme/ml/churn-model.git")
    text = terminal.run(["check", "--repo", str(repo), "--skip", PLATFORM_CHECKS], env(NO_COLOR="1")).text
    assert re.search(r"^platform +gitlab +\(checkout: remote origin\)$", text, re.M), text
    assert re.search(r"^repository +acme/ml/churn-model +\(checkout: remote origin\)$", text, re.M)
    assert re.search(rf"^commit +{sha} +\(checkout: HEAD\)$", text, re.M)
    assert re.search(r"^branch +main +\(checkout: HEAD\)$", text, re.M)
    assert "merge requests into main" in text  # GitLab's word for the change under review


def test_the_checks_that_did_not_run_are_one_line_per_area(tmp_path: Path) -> None:
    repo, _ = checkout(tmp_path)
    text = terminal.run(["check", "--repo", str(repo), "--skip", "vcs.*"], env(NO_COLOR="1"), columns=100).text
    lines = text.split("Not run:\n", 1)[1].splitlines()
    # one line per area, longer than the 100 columns: the terminal wraps it, the gate does not break it
    assert lines[0] == (
        "  vcs: 5 checks skipped by --skip (branch-protected, no-bypass, reviews-required, signed-commits, "
        "status-checks-required)"
    )
    assert (
        "  registry: 4 checks off in the default profile (lineage, metadata, metrics, model-version); turn on in your "
        "policy with checks: {registry.lineage: {enabled: true}}, ...; they need --model"
    ) in lines
    assert any(line.startswith("  monitoring: 1 check off in the default profile (live);") for line in lines)


def test_without_colour_blocking_is_said_in_words(tmp_path: Path) -> None:
    screen = terminal.run(
        ["check", "--repo", str(BAD), "--facts-in", str(BAD / "facts.json")], env(NO_COLOR="1"), columns=140
    )
    assert screen.code == 1
    assert "\x1b[3" not in screen.raw and "\x1b[1;3" not in screen.raw  # no colour at all
    text = screen.text
    assert text.rstrip().splitlines()[-1] == (
        "BLOCKED: 12 of 19 checks failed at or above high; 1 check could not be evaluated (exit 1)"
    )
    assert "19 checks ran: 2 passed, 12 failed and block, 4 failed below high, 1 could not be evaluated" in text
    # every failed row says whether it blocks: a word under FAIL, not the letter case
    assert re.search(
        r"│ FAIL +│ critical │ vcs\.branch-protected +│ main is protected \(gitlab:protected_branch\) but", text
    )
    assert re.search(r"│ blocking +│ +│ gitlab:acme/fraud-model@main", text)
    assert re.search(r"│ FAIL +│ medium +│ image\.base-pinned .*\n│ not blocking +│", text)
    assert "A failure blocks when its severity is high or above (fail_on)." in text
    assert not re.search(r"│ fail ", text)  # the letter case says nothing


def test_colour_on_a_terminal_and_the_ways_to_turn_it_off(tmp_path: Path) -> None:
    replay = ["check", "--repo", str(GOOD), "--facts-in", str(GOOD / "facts.json")]
    assert "\x1b[" in terminal.run(replay, env()).raw
    assert "\x1b[32m" not in terminal.run([*replay, "--color", "never"], env()).raw
    assert "\x1b[32m" not in terminal.run(replay, env(MLOPS_GATE_COLOR="never")).raw
    # off a terminal: no colour unless forced (a CI log that renders ANSI)
    piped = [sys.executable, "-m", "mlops_gate", *replay]
    assert "\x1b[" not in subprocess.run(piped, env=env(), capture_output=True, text=True).stdout
    assert "\x1b[" in subprocess.run(piped, env=env(FORCE_COLOR="1"), capture_output=True, text=True).stdout
    assert (
        "\x1b["
        not in subprocess.run(piped, env=env(FORCE_COLOR="1", NO_COLOR="1"), capture_output=True, text=True).stdout
    )
    assert "\x1b[" in subprocess.run([*piped, "--color", "always"], env=env(), capture_output=True, text=True).stdout


def test_columns_sets_the_width_off_a_terminal() -> None:
    replay = [sys.executable, "-m", "mlops_gate", "check", "--repo", str(GOOD), "--facts-in", str(GOOD / "facts.json")]
    for columns in (80, 160):
        out = subprocess.run(replay, env=env(COLUMNS=str(columns)), capture_output=True, text=True).stdout
        table = [line for line in out.splitlines() if line[:1] in "┏┃│└"]
        assert {len(line) for line in table} == {columns}
    on_screen = terminal.run(replay[3:], env(NO_COLOR="1"), columns=90).text
    assert {len(line) for line in on_screen.splitlines() if line[:1] in "┏│└"} == {90}


def test_a_closed_pipe_ends_quietly_with_the_usual_exit_code() -> None:
    for args, code in (
        (["policy", "schema"], 0),
        (["check", "--repo", str(BAD), "--facts-in", str(BAD / "facts.json"), "--format", "sarif"], 1),
    ):
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlops_gate", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env()
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # `| head -1`
        proc.stdout.close()
        assert first.strip() == b"{"
        assert proc.wait(timeout=60) == code
        assert proc.stderr.read() == b""  # no "BrokenPipeError", no "Exception ignored"


def test_every_policy_error_in_one_run(tmp_path: Path) -> None:
    (tmp_path / ".mlops-gate.yml").write_text(
        "version: 1\n"
        "extend: default\n"
        "fail_on: hihg\n"
        "checks:\n"
        "  ci.pr-pipelin:\n"
        "    enabled: true\n"
        "  vcs.reviews-required:\n"
        "    params:\n"
        "      min_approval: 2\n"
        "waivers:\n"
        "  - check: image.base-pinned\n"
        "    owner: me\n"
        "    reason: later\n"
        "    expires: next year\n"
    )
    screen = terminal.run(["policy", "validate", "--repo", str(tmp_path)], env(NO_COLOR="1"), columns=200)
    assert screen.code == 2
    policy = tmp_path / ".mlops-gate.yml"
    assert screen.text.splitlines() == [
        "mlops-gate: error: the policy has 5 problems:",
        f"  {policy}:2: extend: unknown key (did you mean extends? known keys: checks, exclude, extends, fail_on, target, "
        "version, waivers)",
        f"  {policy}:3: fail_on: expected one of info, low, medium, high, critical or null, got str 'hihg'",
        f"  {policy}:5: checks.ci.pr-pipelin: unknown check id 'ci.pr-pipelin' (did you mean ci.pr-pipeline?)",
        f"  {policy}:9: checks.vcs.reviews-required.params.min_approval: unknown param (did you mean min_approvals? "
        "known: branches, min_approvals, require_code_owner_review, dismiss_stale_reviews, require_last_push_approval, "
        "block_author_approval)",
        f"  {policy}:14: waivers[0].expires: 'next year' is not a date (YYYY-MM-DD)",
        "  hint: `mlops-gate explain vcs.reviews-required` lists its params",
    ]


def test_progress_names_what_is_read_and_from_where_while_a_server_is_slow(
    tmp_path: Path, adversaries: Servers
) -> None:
    api: Adversary = adversaries()
    api.on("/repos/acme/churn-model", api.silent())
    repo, _ = checkout(tmp_path)
    slow = env(MLOPS_GATE_HTTP_TIMEOUT="1.5", MLOPS_GATE_HTTP_REQUEST_DEADLINE="4", MLOPS_GATE_API_URL=api.url)
    live = re.compile(rf"reading branch_protection: GET {re.escape(api.url)}/repos/acme/churn-model \(\d+\.\d s")
    report = tmp_path / "report.json"
    screen = terminal.run(
        ["check", "--repo", str(repo), "--only", "vcs.branch-protected", "--output", f"json={report}"],
        slow,
        when=[lambda text: bool(live.search(text))],
    )
    assert screen.code == 3
    assert len(screen.seen) == 1, screen.text  # the status line was on the screen while the server held the request
    during = terminal.plain(screen.seen[0])
    assert "COULD NOT EVALUATE" not in during  # ... before the run ended
    # redrawn in place as the wait goes on, with the retry
    assert re.search(
        rf"reading branch_protection: GET {re.escape(api.url)}/repos/acme/churn-model \(\d+\.\d s, attempt 2\)",
        screen.frames,
    )
    assert "reading branch_protection" not in screen.text  # and gone from the screen once the report is there
    # the missing token, once and up front, with the variable, the scope and where the token would go
    assert screen.text.count("no GitHub token") == 1
    assert "set GITHUB_TOKEN (or GH_TOKEN) to a fine-grained token with Metadata" in screen.text
    assert f"The token is sent to {api.url} only" in screen.text
    # the wait is called a timeout, with the time and the attempts
    (result,) = json.loads(report.read_text())["results"]
    assert re.search(
        r"GET \S+/repos/acme/churn-model timed out: (it did not answer within 1\.5 s|no complete answer within the "
        r"request deadline) \(.*\d attempts, \d+\.\d s in all",
        result["message"],
    ), result["message"]
    assert "timed out: " in screen.text and "cannot reach" not in screen.text
    assert "24 other checks not selected by --only" in screen.text


def test_verbose_streams_each_request_as_it_is_made(tmp_path: Path, adversaries: Servers) -> None:
    api: Adversary = adversaries()
    api.on("/repos/acme/churn-model", api.silent())
    repo, _ = checkout(tmp_path)
    slow = env(MLOPS_GATE_HTTP_TIMEOUT="1", MLOPS_GATE_HTTP_REQUEST_DEADLINE="2.5", MLOPS_GATE_API_URL=api.url)
    request = f"mlops-gate: [branch_protection] GET {api.url}/repos/acme/churn-model ..."
    screen = terminal.run(
        ["check", "--repo", str(repo), "--only", "vcs.branch-protected", "-v"],
        slow,
        when=[lambda text: request in text],
    )
    assert screen.seen and "COULD NOT EVALUATE" not in terminal.plain(screen.seen[0])  # said when it started
    assert f"[branch_protection] GET {api.url}/repos/acme/churn-model: attempt 2" in screen.text
    assert re.search(r"\[branch_protection\] GET \S+ failed after \d+\.\d s: GET \S+ timed out", screen.text)
    assert "Target(" not in screen.text  # the target is listed field by field, not as a Python repr
    assert re.search(r"mlops-gate: target platform github \(checkout: remote origin\)", screen.text)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_tmux_the_status_line_is_gone_and_the_report_stays(tmp_path: Path, adversaries: Servers) -> None:
    api: Adversary = adversaries()
    api.on("/repos/acme/churn-model", api.silent())
    repo, _ = checkout(tmp_path)
    slow = env(
        MLOPS_GATE_HTTP_TIMEOUT="1", MLOPS_GATE_HTTP_REQUEST_DEADLINE="2", MLOPS_GATE_API_URL=api.url, NO_COLOR="1"
    )
    command = f"{sys.executable} -m mlops_gate check --repo {repo} --only vcs.branch-protected; echo EXIT=$?"
    screen = terminal.tmux(command, slow, columns=120, done="EXIT=")
    assert "EXIT=3" in screen
    assert "reading branch_protection" not in screen  # the live line is transient
    assert re.search(r"^platform +github +\(checkout: remote origin\)", screen, re.M)
    assert "COULD NOT EVALUATE: 1 of 1 check could not be evaluated (vcs.branch-protected)" in screen
