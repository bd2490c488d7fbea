"""The image definition (Dockerfile) and the hash-locked requirements it installs from (requirements/gate.txt).

The gate judges its own Dockerfile; the Dockerfile's Python install steps run here as written, in a fresh
virtual environment against the lock, through the machine's package index as pip is configured (building
the image itself is not needed for that, and needs a container engine this machine may not have).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.source_install import skip_when_offline

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements" / "gate.txt"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions, continuation lines joined, comments dropped."""
    found: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        found.append(Instruction(keyword.upper(), args.strip()))
    return found


def dockerfile() -> list[Instruction]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def env_of(args: str) -> dict[str, str]:
    """`ENV A=1 B="x y"` -> {A: 1, B: x y}."""
    return dict(part.split("=", 1) for part in shlex.split(args))


def lock_pins() -> dict[str, str]:
    """name -> version of every pin in the lock (a name pinned per Python version keeps its last)."""
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


# ---- what the Dockerfile must say -------------------------------------------------------------------


def test_dockerfile_pins_the_base_runs_unprivileged_and_enters_the_cli() -> None:
    steps = dockerfile()
    froms = [s.args for s in steps if s.keyword == "FROM"]
    assert len(froms) == 1 and re.fullmatch(r"python:3\.12-slim@sha256:[0-9a-f]{64}", froms[0]), froms
    runs = " ".join(s.args for s in steps if s.keyword == "RUN")
    assert re.search(r"apt-get install -y --no-install-recommends git\b", runs), "git: the gate reads history"
    users = [s.args for s in steps if s.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the last USER is not root"
    assert [s.args for s in steps if s.keyword == "ENTRYPOINT"] == ['["mlops-gate"]']
    pip_steps = [s.args for s in steps if s.keyword == "RUN" and "pip" in s.args]
    assert any("--require-hashes" in s and "-r requirements/gate.txt" in s for s in pip_steps)
    # the one install that is not from the lock is this checkout itself, without fetching anything
    for step in pip_steps:
        assert "--require-hashes" in step or ("--no-deps" in step and "--no-build-isolation" in step), step


def gate_on_dockerfile(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """The gate (strict profile, image.base-pinned) on a project holding this Dockerfile text and the lock it
    installs from; the JSON report on stdout. (The repository itself also holds the examples' deliberately
    unpinned Dockerfiles.)"""
    repo = tmp_path / "repo"
    (repo / "requirements").mkdir(parents=True)
    (repo / "Dockerfile").write_text(text, encoding="utf-8")
    shutil.copy2(LOCK, repo / "requirements" / "gate.txt")
    return subprocess.run(
        [
            sys.executable,
            "-I",
            "-m",
            "mlops_gate",
            "check",
            "--repo",
            str(repo),
            "--policy",
            "strict",
            "--only",
            "image.base-pinned",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_GATE_"))},
    )


def test_the_gate_passes_its_own_dockerfile(tmp_path: Path) -> None:
    proc = gate_on_dockerfile(tmp_path, DOCKERFILE.read_text(encoding="utf-8"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert [(r["check"], r["subject"], r["status"]) for r in results] == [
        ("image.base-pinned", "file:Dockerfile", "passed")
    ]


def test_the_gate_blocks_the_dockerfile_with_its_digest_removed(tmp_path: Path) -> None:
    """The check above can fail: the same file with the digest dropped is blocked."""
    text = re.sub(r"@sha256:[0-9a-f]{64}", "", DOCKERFILE.read_text(encoding="utf-8"))
    proc = gate_on_dockerfile(tmp_path, text)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert [r["status"] for r in json.loads(proc.stdout)["results"]] == ["failed"]


# ---- the lock ---------------------------------------------------------------------------------------


def test_lock_hashes_every_pin_and_covers_the_package_and_its_backend() -> None:
    text = LOCK.read_text(encoding="utf-8")
    assert text.startswith("# This file was autogenerated by uv via the following command:\n#    uv pip compile ")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    for entry in entries:
        head = entry.splitlines()[0]
        assert re.match(r"^[A-Za-z0-9_.-]+==\S+", head), f"not pinned exactly: {head}"
        assert "--hash=sha256:" in entry, f"no hash: {head}"
    pins = lock_pins()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in pyproject["dependencies"] + pyproject["optional-dependencies"]["mlflow"]]
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    for req in wanted + [Requirement(r) for r in build]:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in the lock: regenerate it"
        assert req.specifier.contains(pins[name], prereleases=True), f"lock has {name}=={pins[name]}, wants {req}"


# ---- the Dockerfile's install steps, run ----------------------------------------------------------


def test_dockerfile_install_steps_install_the_gate_from_the_lock(tmp_path: Path) -> None:
    """Every RUN after the system steps, with the Dockerfile's ENV, in a folder laid out as its COPYs do: the
    lock installs with --require-hashes and the package from this checkout; the CLI then runs."""
    stage = tmp_path / "src"
    stage.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_GATE_", "VIRTUAL_ENV"))}
    commands = []
    for step in dockerfile():
        if step.keyword == "ENV":
            env.update(env_of(step.args))
        elif step.keyword == "COPY":
            *sources, dest = shlex.split(step.args)
            for source in sources:  # as Docker copies: into a folder when dest ends in /, else to dest
                target = stage / dest / Path(source).name if dest.endswith("/") else stage / dest
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / source, target)
        elif step.keyword == "RUN" and "VIRTUAL_ENV" in step.args:
            commands.append(step.args)
        elif step.keyword == "USER":
            break
    assert len(commands) == 2, commands
    venv = tmp_path / "venv"
    env["VIRTUAL_ENV"] = str(venv)
    env.pop("PIP_NO_CACHE_DIR", None)  # the image keeps no cache; here pip's cache only saves downloads
    for command in commands:
        proc = subprocess.run(["sh", "-ec", command], cwd=stage, env=env, capture_output=True, text=True, timeout=900)
        skip_when_offline(proc.returncode, proc.stdout + proc.stderr)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}"
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    have = {canonicalize_name(p["name"]): p["version"] for p in json.loads(installed.stdout)}
    pins = lock_pins()
    for name, version in have.items():
        if name in ("pip", "setuptools", "mlops-gate"):
            continue
        assert name in pins, f"{name}=={version} was installed but is not in the lock"
    assert have["mlops-gate"], have
    checked = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout
    # the console script the ENTRYPOINT names runs, and judges a project
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM alpine:3\n", encoding="utf-8")
    gate = subprocess.run(
        [
            str(venv / "bin" / "mlops-gate"),
            "check",
            "--repo",
            str(project),
            "--policy",
            "strict",
            "--only",
            "image.base-pinned",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in env.items() if not k.startswith("GITHUB_")},
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "image.base-pinned" in gate.stdout
