"""Static quality gates run with the tests: ruff clean, mypy strict, generated docs current."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean() -> None:
    if (
        shutil.which("ruff") is None
        and subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode != 0
    ):
        pytest.skip("ruff not installed (it is in the test extra)")
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "mlops_gate", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_clean() -> None:
    """`ruff format --check`, as .ci/run runs it: the tree is formatted (configured in pyproject.toml)."""
    if subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode != 0:
        pytest.skip("ruff not installed (it is in the test extra)")
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "mlops_gate", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_generated_docs_are_current() -> None:
    from mlops_gate import docsgen

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docsgen.readme(readme) == readme, "run: python -m mlops_gate.docsgen"
    assert (ROOT / "docs" / "checks.md").read_text(encoding="utf-8") == docsgen.checks_md()


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert "pip install . && mlops-gate check --repo examples/" in block
    assert "pip install -e '.[test]' && python3 -m pytest" in block
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -q -e '.[test]' && python -m pytest" in ci


def test_readme_first_command_gives_a_full_report(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import os
    import shlex

    from mlops_gate.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if "mlops-gate check" in ln and "pip install ." in ln)
    argv = shlex.split(line.split("&& mlops-gate", 1)[1].split(";", 1)[0])
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main([*argv, "--format", "json"], env={})
    finally:
        os.chdir(cwd)
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    areas = {r["area"] for r in report["results"]}
    assert areas >= {"vcs", "ci", "cd", "orchestration", "image", "monitoring"}
    assert {r["status"] for r in report["results"]} >= {"failed", "waived", "error"}
