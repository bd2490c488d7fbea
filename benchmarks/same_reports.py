"""Verdicts unchanged: the files-only gate's JSON report from two checkouts, on every given repository.

    git archive <before> | tar -x -C /tmp/before
    python benchmarks/same_reports.py /tmp/before . /path/to/repos/* /tmp/mlops-gate-large-trees/kserve

Each checkout runs `python -m mlops_gate check --repo R --only <the eight files-only checks> --format json`
with itself on PYTHONPATH; the reports must be identical but for timings and the tool's version. Prints a
diff for each repository whose reports differ; exits 1 if any does.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.file_checks import FILES_ONLY

VARIES = {"duration_s", "tool_version", "tool"}  # what differs between two runs of the same verdicts


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VARIES}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def report(checkout: str, repo: str) -> tuple[int, Any]:
    cmd = [sys.executable, "-m", "mlops_gate", "check", "--repo", repo, "--only", ",".join(FILES_ONLY)]
    env = dict(os.environ, PYTHONPATH=str(Path(checkout).resolve()))
    proc = subprocess.run([*cmd, "--format", "json"], env=env, capture_output=True, text=True, cwd="/")
    return proc.returncode, _stable(json.loads(proc.stdout)) if proc.stdout.strip() else proc.stderr


def main() -> None:
    before, after, *repos = sys.argv[1:]
    differ = 0
    for repo in repos:
        a, b = report(before, repo), report(after, repo)
        if a != b:
            differ += 1
            old = json.dumps(a, indent=1, sort_keys=True).splitlines()
            new = json.dumps(b, indent=1, sort_keys=True).splitlines()
            print(f"differs: {repo}")
            print("\n".join(list(difflib.unified_diff(old, new, lineterm=""))[:60]))
    print(f"{len(repos) - differ} identical, {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
