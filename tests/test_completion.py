"""Shell completion through argcomplete: the scripts for bash, zsh and fish, and what a shell gets offered.
argcomplete is imported only while the shell asks for completions (tests/test_startup.py: not by --version)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_gate.cli import main

ROOT = Path(__file__).resolve().parents[1]


def complete(line: str, tmp_path: Path) -> list[str]:
    """What the shell is offered for `line` (the cursor at its end), as argcomplete answers a shell."""
    out = tmp_path / "completions"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "_ARGCOMPLETE": "1",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
    }
    subprocess.run([sys.executable, "-m", "mlops_gate"], env=env, check=True, timeout=60, capture_output=True)
    return sorted(word.strip() for word in out.read_text().split("\x0b") if word.strip())


def test_commands_options_and_check_ids(tmp_path: Path) -> None:
    assert {"audit", "check", "checks", "completion", "explain", "init", "policy"} <= set(
        complete("mlops-gate ", tmp_path)
    )
    assert complete("mlops-gate check --fail", tmp_path) == ["--fail-on"]
    assert complete("mlops-gate check --fail-on c", tmp_path) == ["critical"]
    assert complete("mlops-gate explain vcs.br", tmp_path) == ["vcs.branch-protected"]
    assert complete("mlops-gate check --skip vcs.no-bypass,registry.me", tmp_path) == [
        "vcs.no-bypass,registry.metadata",
        "vcs.no-bypass,registry.metrics",
    ]


@pytest.mark.parametrize(
    ("shell", "marker"), [("bash", "complete "), ("zsh", "#compdef mlops-gate"), ("fish", "complete ")]
)
def test_the_script_for_each_shell(capsys: pytest.CaptureFixture[str], shell: str, marker: str) -> None:
    assert main(["completion", shell], env={}) == 0
    script = capsys.readouterr().out
    assert marker in script and "mlops-gate" in script and "_ARGCOMPLETE" in script
