"""What the integrations' real install step needs: this checkout's source as a git repository tagged
v<version> (what the GitLab component and the Azure template fetch), an environment whose `python3` is the
tests' interpreter and whose pip reaches the machine's package index as configured (cache shared between
tests), and a way to tell "no index reachable" (skip, naming it) from a real install failure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_gate import __version__

ROOT = Path(__file__).resolve().parents[2]
# what pip prints when it cannot reach an index at all (not: a package or hash it could not find)
OFFLINE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
    r"Network is unreachable|ConnectTimeoutError|Max retries exceeded"
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.strip()


def tagged_source(dest: Path) -> Path:
    """The package's source (what the wheel is built from) committed and tagged v<version> in `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md", "requirements", "mlops_gate"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, dest / name)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "release")
    git(dest, "tag", f"v{__version__}")
    return dest


def install_env(tmp_path: Path) -> dict[str, str]:
    """`python3` on PATH is the tests' interpreter; pip's cache is the user's, shared between tests."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    python3 = bin_dir / "python3"
    if not python3.exists():
        python3.symlink_to(Path(getattr(sys, "_base_executable", sys.executable)))
    cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    return {
        "MLOPS_GATE_SKIP_INSTALL": "",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PIP_CACHE_DIR": cache,
    }


def skip_when_offline(returncode: int, output: str) -> None:
    if returncode != 0 and OFFLINE.search(output):
        pytest.skip("no package index is reachable: the locked dependencies cannot be installed here")


def installed_from_source(venv: Path) -> bool:
    """mlops-gate installed from the fetched source, with its locked dependencies beside it."""
    for site in venv.glob("lib/python*/site-packages"):
        if (site / "mlops_gate" / "__init__.py").is_file() and any(site.glob("google_re2*")):
            return True
    return False
