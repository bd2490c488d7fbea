"""Large repositories (issue 17): the files-only gate against the PyYAML C-loader floor and checkov.

    python benchmarks/large_repos.py                       # the three trees, the gate and the floor
    python benchmarks/large_repos.py --checkov /work/research/17/checkov-venv --runs 3
    python benchmarks/large_repos.py --trees kserve --dir /tmp/large-trees

Builds deterministic synthetic trees (tests/support/large_trees.py; kept in --dir and reused):

- `kserve`: bundle-heavy like kserve/kserve: ~30 MB of YAML, most of it in multi-document install bundles of
  ~0.7 MB, kustomize folders, a Helm chart, 1,900 Python modules (~2,800 files);
- `10k` and `100k`: small files of an ordinary ML repository (Python, YAML configs, JSON, Markdown, a few
  manifests, Dockerfiles, workflows, rules).

For each tree, side by side in one run (runs interleaved; the median of --runs): wall time, CPU (user + system,
the process and the children it waited for) and peak RSS of
- the gate: `mlops-gate check --repo T --only <the eight files-only checks> --format json` (no network);
- the floor: PyYAML's C loader loading every YAML byte of the tree once, nothing else;
- checkov (when --checkov names its virtualenv or executable):
  `checkov -d T --framework dockerfile,github_actions,kubernetes --skip-download -o json`.

Goals: KServe-like <= 15 s and <= 400 MB; 100k small files <= 60 s and <= 500 MB; the gate within 1.5x of the
floor's CPU; the gate faster than checkov on every tree.

Measured on the 2-core reference machine (a shared VM: one run's CPU varies by up to 20%), `--runs 5`
(10k: 7; checkov: `--runs 3`, 100k from one earlier run); wall s, CPU s, peak RSS MB; the figures before:
docs/development.md, "Reading the repository's files":

    tree        gate               floor (CPU)   checkov
    KServe-like  3.7   3.8   194    3.4            78.6   82.6  1114
    10k          2.2   2.2    35    1.5            34.6   40.3  1118
    100k        16.2  16.3   106   15.7          1230.9  496.2  9034
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

from tests.support.file_checks import FILES_ONLY
from tests.support.large_trees import kserve_like, small_files

FILE_CHECKS = ",".join(FILES_ONLY)
TREES = {
    "kserve": lambda root: kserve_like(root),
    "10k": lambda root: small_files(root, 10_000),
    "100k": lambda root: small_files(root, 100_000),
}
CHECKOV_FLAGS = ("--skip-download", "-o", "json")
FLOOR = """
import os, sys, yaml
for d, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [x for x in dirs if x != ".git"]
    for f in files:
        if f.endswith((".yaml", ".yml")):
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                text = fh.read()
            try:
                for _ in yaml.load_all(text, Loader=yaml.CSafeLoader):
                    pass
            except yaml.YAMLError:
                pass
"""


def build(name: str, base: Path) -> Path:
    root = base / name
    done = root / ".built"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        TREES[name](root)
        done.write_text("synthetic tree, tests/support/large_trees.py\n")
    return root


def measure(cmd: list[str]) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB, exit code) of one run; output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def summary(got: list[tuple[float, float, float, int]]) -> tuple[float, float, float, int]:
    """Median wall and CPU, largest peak RSS, last exit code."""
    return (
        statistics.median(g[0] for g in got),
        statistics.median(g[1] for g in got),
        max(g[2] for g in got),
        got[-1][3],
    )


def checkov_command(given: str | None) -> list[str] | None:
    if not given:
        return None
    path = Path(given)
    exe = path / "bin" / "checkov" if path.is_dir() else path
    return [str(exe)] if exe.exists() else None


def tree_size(root: Path) -> tuple[int, int]:
    files = yaml_bytes = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            files += name != ".built"
            if name.endswith((".yaml", ".yml")):
                yaml_bytes += (Path(dirpath) / name).stat().st_size
    return files, yaml_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", default="kserve,10k,100k")
    parser.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "mlops-gate-large-trees"))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--checkov", help="checkov's virtualenv (or its executable)")
    args = parser.parse_args()
    checkov = checkov_command(args.checkov)
    if args.checkov and checkov is None:
        sys.exit(f"--checkov {args.checkov}: no checkov executable there")
    gate = [sys.executable, "-m", "mlops_gate", "check", "--only", FILE_CHECKS, "--format", "json", "--repo"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} run(s)")
    print(f"{'tree':<8} {'files':>7} {'YAML MB':>8}  {'tool':<8} {'wall s':>7} {'CPU s':>7} {'RSS MB':>7}  exit")
    for name in args.trees.split(","):
        root = build(name, Path(args.dir))
        files, yaml_bytes = tree_size(root)
        rows = [("gate", [*gate, str(root)]), ("floor", [sys.executable, "-c", FLOOR, str(root)])]
        if checkov is not None:
            frameworks = "dockerfile,github_actions,kubernetes"
            rows.append(("checkov", [*checkov, "-d", str(root), "--framework", frameworks, *CHECKOV_FLAGS]))
        got: dict[str, list[tuple[float, float, float, int]]] = {tool: [] for tool, _ in rows}
        for _ in range(args.runs):  # interleaved, so that the machine's drift touches every tool alike
            for tool, cmd in rows:
                got[tool].append(measure(cmd))
        cpu = {}
        for tool, _ in rows:
            wall, used, rss, code = summary(got[tool])
            cpu[tool] = used
            size = f"{name:<8} {files:>7} {yaml_bytes / 1e6:>8.1f}"
            print(f"{size}  {tool:<8} {wall:>7.1f} {used:>7.1f} {rss:>7.0f}  {code}")
        print(f"{name:<8} gate CPU / floor CPU = {cpu['gate'] / cpu['floor']:.2f}")


if __name__ == "__main__":
    main()
