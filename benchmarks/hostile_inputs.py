"""Peak memory and wall time of the gate on the largest hostile inputs it now refuses, and on a normal run.

    python benchmarks/hostile_inputs.py          # one run per case, each in its own process

Each case is a repository written to a temporary folder, judged by `mlops-gate check --only <checks>` in a
child process; the figures are that process's wall time and peak RSS (os.wait4). Every hostile case must end
in a finding or an error naming the file (checked here too), never a pass or a crash.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "examples" / "churn-model"
FILES_ONLY = ["--skip", "vcs.*,ci.required-runs,cd.production-environment,registry.*"]
MIB = 1 << 20
DEPLOY = "apiVersion: apps/v1\nkind: Deployment\nspec: {template: {spec: {containers: [{image: python:latest}]}}}\n"


def small_bombs(size: int) -> str:
    """Many small alias bombs, one per document: each one under a per-document budget."""
    doc = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcd", "bcde", strict=True)
    )
    return "---\n".join([doc] * (size // (len(doc) + 4) + 1))[:size].rsplit("---\n", 1)[0]


def laughs() -> str:
    """The classic billion laughs: 9 levels of 9 aliases, 1 KB."""
    return 'l0: &l0 "lol"\n' + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))


def merges() -> str:
    return "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n" + "".join(
        f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}]}}\n" for i in range(1, 12)
    )


def near_budget_bomb(n: int) -> str:
    """One file that expands to about 900 000 nodes (under the per-file budget), made distinct by `n`."""
    return f"apiVersion: v1\nkind: List\nn: {n}\na: &a [{', '.join(['x'] * 949)}]\nb: [{', '.join(['*a'] * 948)}]\n"


def redos() -> dict[str, str]:
    """A route whose match_re backtracks exponentially in Python's re against the alert's label value."""
    return {
        "rules.yml": "groups:\n- name: g\n  rules:\n  - {alert: A, expr: up, for: 5m, labels: {severity: "
        + "a" * 5000
        + "x}, annotations: {summary: s, runbook_url: https://r}}\n",
        "alertmanager.yml": "route:\n  receiver: r\n  routes:\n"
        "  - {receiver: r, match_re: {severity: '(a|aa)+$'}}\nreceivers: [{name: r}]\n",
    }


def padded_manifests(repo: Path) -> None:
    """50 Deployments padded past 1 MiB with a comment, written in pieces (this process stays small)."""
    (repo / "m").mkdir()
    for n in range(50):
        with open(repo / "m" / f"{n:02}.yaml", "w", encoding="utf-8") as fh:
            fh.write(DEPLOY)
            for _ in range(16):
                fh.write("#" * (MIB // 16))


def sparse(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        fh.truncate(size)


Case = tuple[str, Callable[[Path], None], list[str]]


def write(files: Callable[[], dict[str, str]]) -> Callable[[Path], None]:
    """A case that writes `files()` (built only when the case runs: this process stays small, and a child's
    peak RSS starts from this process's size)."""

    def make(repo: Path) -> None:
        for rel, text in files().items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_text(text, encoding="utf-8")

    return make


ONLY = ["--only", "image.digest-pinned"]
CASES: list[Case] = [
    ("alias bombs, one per document, 16.5 KB", write(lambda: {"values.yaml": small_bombs(16_500)}), ONLY),
    ("alias bombs, one per document, 165 KB", write(lambda: {"values.yaml": small_bombs(165_000)}), ONLY),
    ("alias bombs, one per document, 1 MiB", write(lambda: {"values.yaml": small_bombs(MIB - 100)}), ONLY),
    ("billion laughs, 1 KB", write(lambda: {"values.yaml": laughs()}), ONLY),
    ("merge-key bomb, 1 KB", write(lambda: {"values.yaml": merges()}), ONLY),
    (
        "40 files near the per-file budget (run budget)",
        write(lambda: {f"k8s/{n:02}.yaml": near_budget_bomb(n) for n in range(40)}),
        ONLY,
    ),
    ("deep nesting, YAML, 1 MiB of [", write(lambda: {"deep.yaml": "[" * (MIB // 2) + "]" * (MIB // 2)}), ONLY),
    (
        "deep nesting, JSON, 1 MiB of [",
        write(lambda: {"sfn.asl.json": "[" * (MIB // 2) + "]" * (MIB // 2)}),
        ["--only", "orchestration.workflow-defined"],
    ),
    ("2 GiB manifest (sparse)", lambda repo: sparse(repo / "deploy.yaml", 2 << 30), ONLY),
    ("50 manifests of 1 MiB + 100 bytes", padded_manifests, ONLY),
    ("Alertmanager (a|aa)+$ against a long label", write(redos), ["--only", "monitoring.alert-routing"]),
    (
        "GitLab rules: a 700 KB && chain",
        write(
            lambda: {
                ".gitlab-ci.yml": "test:\n  script: [pytest]\n  rules:\n"
                '    - if: \'$A == "x"' + ' && $B == "y"' * 50_000 + "'\n"
            }
        ),
        ["--only", "ci.pr-pipeline"],
    ),
    (
        "Dockerfile: ARG doubling at each of 60 lines",
        write(
            lambda: {
                "Dockerfile": "ARG A0=xxxxxxxx\n"
                + "".join(f"ARG A{i}=${{A{i - 1}}}${{A{i - 1}}}\n" for i in range(1, 60))
                + "FROM $A59\n"
            }
        ),
        ["--only", "image.base-pinned"],
    ),
    (
        "drift search over 1 MB of blank lines",
        write(lambda: {"m.py": "import os  # evidently drift\n" + "\n" * 1_000_000}),
        ["--only", "monitoring.drift-monitor"],
    ),
]


def measure(args: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MiB, exit code, stdout) of one gate run in a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_gate", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode, out


def verdict(out: str) -> str:
    report = json.loads(out)
    bad = [r for r in report["results"] if r["status"] in ("failed", "error")]
    shown = bad[0]["violations"][0]["message"] if bad and bad[0]["violations"] else bad[0]["message"] if bad else ""
    return f"{len(bad)} finding(s): {shown[:70]}"


def main() -> int:
    print(f"python {sys.version.split()[0]}; wall time and peak RSS of the gate's process")
    wall, rss, code, _ = measure(["check", "--repo", str(GOOD), "--format", "json", *FILES_ONLY])
    print(f"{'normal run: the example, files only':<48} {wall:6.2f} s {rss:7.1f} MiB  exit {code}")
    failed = False
    for name, make, only in CASES:
        with tempfile.TemporaryDirectory(prefix="mlops-gate-hostile-") as tmp:
            repo = Path(tmp)
            make(repo)
            wall, rss, code, out = measure(
                ["check", "--repo", str(repo), "--format", "json", "--fail-on", "low", *only]
            )
            what = verdict(out) if out.strip().startswith("{") else "no JSON report"
            failed |= code == 0
            print(f"{name:<48} {wall:6.2f} s {rss:7.1f} MiB  exit {code}  {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
