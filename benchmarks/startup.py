"""Start-up: CPU time of --version and of the files-only example, as an installed gate spends it.

    python benchmarks/startup.py                          # 20 runs each
    python benchmarks/startup.py 20 --against /tmp/base   # and, interleaved, another checkout's package
                                                          # (e.g. `git archive main | tar -x -C /tmp/base`)
    python benchmarks/startup.py --callgrind --against /tmp/base  # instructions instead (valgrind; see below)

Each checkout's package is installed the way users get it: a wheel (tests/support/wheel.py) installed by pip into
a temporary folder, byte code compiled by pip, run with that folder on PYTHONPATH. A checkout run in place under
PYTHONDONTWRITEBYTECODE=1 (as on the reference machine) compiles every module on every run instead (~0.15 s).

--callgrind counts the instructions of the gate's process (not the tools') for the files-only JSON case, under
valgrind's callgrind, once per checkout: unlike CPU seconds on a shared VM they do not drift with the load
(two runs agree within 0.5%), so they compare two checkouts where the medians cannot.

CPU time (user + system), not wall time: the reference machine has 2 cores shared with other work, so wall time
measures the neighbours. `gate` is the gate's own process (all its threads); `tools` the programs it runs and
waits for (git, promtool, amtool). Runs are interleaved, one of each checkout in turn, so load drifts alike.

Targets on the 2-core reference machine (issue 17): --version < 0.10 s; the files-only example (the eight
checks that read only repository files, JSON report) <= 0.30 s of CPU. promtool/amtool's versions are
remembered between runs (providers/_tool_cache.py): the runs after the first find them in the benchmark's own
cache folder; "fresh runner" turns the cache off, as on a CI machine's first run.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.file_checks import FILES_ONLY  # noqa: E402
from tests.support.wheel import wheel  # noqa: E402

GOOD = str(ROOT / "examples" / "churn-model")
FILES = ",".join(FILES_ONLY)  # the eight checks that read only the repository's files
FILES_JSON = ["check", "--repo", GOOD, "--only", FILES, "--format", "json"]
# (arguments, environment): the tool versions are remembered in a cache folder of the benchmark's own; the
# "fresh runner" case turns it off, as on a CI machine's first run (promtool/amtool --version run every time)
CASES: dict[str, tuple[list[str], dict[str, str]]] = {
    "--version": (["--version"], {}),
    "files-only example, json": (FILES_JSON, {}),
    "files-only example, json, fresh runner": (FILES_JSON, {"MLOPS_GATE_TOOL_CACHE": "off"}),
    "files-only example, console": (["check", "--repo", GOOD, "--only", FILES], {}),
    "--facts-in demo (all checks)": (["check", "--repo", GOOD, "--facts-in", f"{GOOD}/facts.json"], {}),
}
# `python -m mlops_gate ARGS`, saying at exit what the programs it waited for spent
RUN = (
    "import atexit, os, resource, runpy, sys\n"
    "def said():\n"
    "    c = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "    with open(os.environ['STARTUP_BENCH_OUT'], 'w') as f:\n"
    "        f.write(str(c.ru_utime + c.ru_stime))\n"
    "atexit.register(said)\n"
    "sys.argv[0] = 'mlops_gate'\n"
    "runpy.run_module('mlops_gate', run_name='__main__', alter_sys=True)\n"
)


def install(checkout: Path, into: Path) -> Path:
    """The checkout's package as pip installs it (byte code included): the folder to put on PYTHONPATH."""
    target = into / "site"
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target)]
    subprocess.run([*cmd, str(wheel(into / "dist", checkout / "mlops_gate"))], check=True, capture_output=True)
    return target


def once(args: list[str], site: Path, scratch: Path, extra: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds of the gate's process, CPU seconds of the programs it ran) for one run."""
    out = scratch / "tools"
    cache = str(scratch / "tool-cache")
    env = {**os.environ, "PYTHONPATH": str(site), "STARTUP_BENCH_OUT": str(out), "MLOPS_GATE_TOOL_CACHE": cache}
    env.update(extra)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-c", RUN, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        env=env,
        cwd=scratch,  # not a checkout: the current folder comes first on sys.path
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    tools = float(out.read_text()) if out.is_file() else 0.0
    return total - tools, tools


def line(name: str, runs: list[tuple[float, float]]) -> str:
    gate = sorted(g for g, _ in runs)
    tools = statistics.median(t for _, t in runs)
    both = statistics.median(g + t for g, t in runs)
    p90 = gate[min(len(gate) - 1, int(len(gate) * 0.9))]
    return (
        f"{name:<58} gate median {statistics.median(gate):.3f}s p90 {p90:.3f}s min {gate[0]:.3f}s"
        f" | tools {tools:.3f}s | both {both:.3f}s"
    )


def instructions(site: Path, scratch: Path) -> int:
    """The instructions callgrind counts for the gate's process on the files-only JSON case."""
    env = {**os.environ, "PYTHONPATH": str(site), "STARTUP_BENCH_OUT": str(scratch / "tools")}
    env["MLOPS_GATE_TOOL_CACHE"] = str(scratch / "tool-cache")
    out = str(scratch / "callgrind.out")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", RUN, *FILES_JSON]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=scratch)
    found = [ln for ln in done.stderr.splitlines() if "Collected :" in ln]
    if not found:
        raise SystemExit(f"callgrind gave no count (is valgrind installed?): {done.stderr[-500:]}")
    return int(found[-1].rsplit(":", 1)[1])


def main(argv: list[str]) -> None:
    runs = int(argv[0]) if argv and argv[0].isdigit() else 20
    checkouts = {"this checkout": ROOT}
    if "--against" in argv:
        other = Path(argv[argv.index("--against") + 1]).resolve()
        checkouts[str(other)] = other
    with tempfile.TemporaryDirectory() as tmp:
        sites = {name: install(path, Path(tmp) / str(i)) for i, (name, path) in enumerate(checkouts.items())}
        if "--callgrind" in argv:
            for name, site in sites.items():
                once(FILES_JSON, site, Path(tmp), {})  # the tool versions remembered, as in the timed runs
                print(f"files-only example, json ({name}): {instructions(site, Path(tmp)):,} instructions")
            return
        print(f"python {sys.version.split()[0]}, {runs} runs each, load average {os.getloadavg()[0]:.1f}")
        for case, (args, extra) in CASES.items():
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in sites}
            for _ in range(runs):
                for name, site in sites.items():
                    results[name].append(once(args, site, Path(tmp), extra))
            for name, got in results.items():
                print(line(f"{case} ({name})", got))


if __name__ == "__main__":
    main(sys.argv[1:])
