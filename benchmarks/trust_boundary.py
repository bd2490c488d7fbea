"""The cost of the trust boundary: a pull-request run reads the target branch's policy (and its key files)
with git before anything is fetched; a push run does not. Same repository, same checks, fresh processes.

    python benchmarks/trust_boundary.py [--runs 10]

Builds the churn example as a git repository (main, then a feature branch that edits the policy) in a
temporary folder and times `check --only ci.*,policy.unchanged` as a push and as a pull request.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
BASE = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/churn-model", "HOME": "/nonexistent"}
EVENTS = {
    "push": {**BASE, "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"},
    "pull_request": {
        **BASE,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_BASE_REF": "main",
        "GITHUB_HEAD_REF": "feature",
    },
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def make_repo(path: Path) -> Path:
    shutil.copytree(ROOT / "examples" / "churn-model", path, ignore=shutil.ignore_patterns("facts.json"))
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "main")
    git(path, "checkout", "-q", "-b", "feature")
    policy = path / ".mlops-gate.yml"
    policy.write_text(policy.read_text().replace("fail_on: high", "fail_on: critical"))
    return path


def timed(repo: Path, env: dict[str, str]) -> tuple[float, int]:
    cmd = [
        sys.executable,
        "-m",
        "mlops_gate",
        "check",
        "--repo",
        str(repo),
        "--only",
        "ci.*,policy.unchanged",
        "--format",
        "json",
        "-q",
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, env={"PATH": os.environ["PATH"], **env}, capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="mlops-gate-bench-") as tmp:
        repo = make_repo(Path(tmp) / "repo")
        times: dict[str, list[float]] = {name: [] for name in EVENTS}
        codes: dict[str, set[int]] = {name: set() for name in EVENTS}
        for _ in range(runs):  # interleaved: a shared machine's drift hits both alike
            for name, env in EVENTS.items():
                elapsed, code = timed(repo, env)
                times[name].append(elapsed)
                codes[name].add(code)
        for name in EVENTS:
            print(
                f"{name:13s} median {statistics.median(times[name]) * 1000:7.1f} ms  "
                f"min {min(times[name]) * 1000:7.1f} ms  exit {sorted(codes[name])}  ({runs} runs)"
            )


if __name__ == "__main__":
    main()
