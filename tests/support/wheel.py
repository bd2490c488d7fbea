"""What the CI integrations' install step needs offline: a wheel of this checkout's mlops_gate (built here by
hand: hatchling is not installed, and pip must not reach an index in tests), and a folder of the
dependencies it imports, so that a virtual environment the integration creates can run the real gate.

`wheel(dest)` writes `mlops_gate-<version>-py3-none-any.whl` (console script included); `deps_pth(venv)`
adds the test interpreter's site-packages to a virtual environment through a `.pth` file — the
dependencies, not mlops_gate (an editable install is a `.pth` of its own, which a folder added this way
does not process)."""

from __future__ import annotations

import base64
import hashlib
import sysconfig
import zipfile
from pathlib import Path

from mlops_gate import __version__

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mlops_gate"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel(dest: Path, package: Path = PACKAGE) -> Path:
    """A wheel of the package as it is in this checkout (py3, no dependencies declared: tests install it with
    PIP_NO_DEPS and give the dependencies through deps_pth); `package`: another checkout's (benchmarks)."""
    dest.mkdir(parents=True, exist_ok=True)
    dist = f"mlops_gate-{__version__}.dist-info"
    path = dest / f"mlops_gate-{__version__}-py3-none-any.whl"
    files: dict[str, bytes] = {}
    for f in sorted(package.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            files[f.relative_to(package.parent).as_posix()] = f.read_bytes()
    files[f"{dist}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: mlops-gate\nVersion: {__version__}\nProvides-Extra: mlflow\n"
    ).encode()
    files[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{dist}/entry_points.txt"] = b"[console_scripts]\nmlops-gate = mlops_gate.cli:entry\n"
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def deps_pth(venv: Path) -> Path:
    """Make the test interpreter's installed dependencies importable in `venv` (same Python version): a folder
    of links to everything in its site-packages but mlops-gate itself (whose metadata would tell pip it is
    installed already), named in a .pth file."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    deps = venv / "test-dependencies"
    deps.mkdir(exist_ok=True)
    for entry in purelib.iterdir():
        if (
            not entry.name.lower()
            .replace("-", "_")
            .startswith(("mlops_gate", "__editable__", "_editable_impl_mlops_gate"))
        ):
            (deps / entry.name).symlink_to(entry)
    (site,) = venv.glob("lib/python*/site-packages")
    pth = site / "zz-test-dependencies.pth"
    pth.write_text(f"{deps}\n", encoding="utf-8")
    return pth
