"""The built-in policy profiles (the YAML files of this folder, next to the policy's JSON Schema), and the names
a repository's own policy file is discovered under. Where policies are, not what they say: loading and
validating one is mlops_gate.policy."""

from __future__ import annotations

from pathlib import Path

PROFILES_DIR = Path(__file__).parent
DISCOVERED_NAMES = (".mlops-gate.yml", ".mlops-gate.yaml", "mlops-gate.yml", "mlops-gate.yaml")


def profile_path(name: str) -> Path | None:
    path = PROFILES_DIR / f"{name}.yaml"
    return path if path.is_file() else None


def profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def discover(repo: Path) -> Path | None:
    for name in DISCOVERED_NAMES:
        if (repo / name).is_file():
            return repo / name
    return None


__all__ = ["DISCOVERED_NAMES", "PROFILES_DIR", "discover", "profile_path", "profiles"]
