"""Registry credentials, each sent only to the registry it belongs to: MLOPS_GATE_REGISTRY_USERNAME/PASSWORD
for the host named in MLOPS_GATE_REGISTRY_HOST, else Docker's `config.json` `auths` entry keyed by that
registry; and the `WWW-Authenticate` challenge a registry answers with."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from mlops_gate.providers._oci_ref import DOCKER_HUB
from mlops_gate.secrets import register

_CHALLENGE_RE = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))')


def registry_host(value: str) -> str:
    """A registry as MLOPS_GATE_REGISTRY_HOST or an `auths` key may write it (`https://host/v1/`) -> `host`."""
    host = value.strip().lower().split("://", 1)[-1].split("/", 1)[0]
    return DOCKER_HUB if host in ("index.docker.io", "registry-1.docker.io", "docker.io") else host


def credentials(registry: str, env: Mapping[str, str]) -> tuple[tuple[str, str] | None, str | None]:
    """(username, password) for `registry`, and a note when credentials exist but are not for it (or sit in a
    Docker credential helper we do not run)."""
    user, password = env.get("MLOPS_GATE_REGISTRY_USERNAME"), env.get("MLOPS_GATE_REGISTRY_PASSWORD")
    bound = registry_host(env.get("MLOPS_GATE_REGISTRY_HOST", ""))
    env_note = None
    if user and password:
        if bound == registry_host(registry):
            return (user, password), None
        env_note = (
            f"MLOPS_GATE_REGISTRY_USERNAME/PASSWORD are for {bound}, not sent to {registry}"
            if bound
            else "MLOPS_GATE_REGISTRY_USERNAME/PASSWORD are not sent: set MLOPS_GATE_REGISTRY_HOST to the "
            "registry they belong to"
        )
    base = env.get("DOCKER_CONFIG") or str(Path(env.get("HOME") or os.path.expanduser("~")) / ".docker")
    path = Path(base) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None, env_note
    auths = config.get("auths") if isinstance(config, dict) else None
    keys: tuple[str, ...] = (
        registry,
        f"https://{registry}",
        f"http://{registry}",
        f"https://{registry}/v1/",
        f"https://{registry}/v2/",
    )
    if registry == DOCKER_HUB:
        keys = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io", *keys)
    for key in keys:
        entry = auths.get(key) if isinstance(auths, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("auth"), str) and entry["auth"]:
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, f"{path}: auths[{key}].auth is not base64 user:password"
            register(password, user)  # not in the environment: tell the redactor
            return (user, password), None
    helpers = config.get("credHelpers") if isinstance(config, dict) else None
    helper = (helpers or {}).get(registry) if isinstance(helpers, dict) else None
    helper = helper or (config.get("credsStore") if isinstance(config, dict) else None)
    if helper:
        return None, env_note or (
            f"{path} keeps credentials in the credential helper {helper!r}, which "
            "mlops-gate does not run: set MLOPS_GATE_REGISTRY_HOST and "
            "MLOPS_GATE_REGISTRY_USERNAME/PASSWORD"
        )
    return None, env_note


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = header.strip().partition(" ")
    return kind.lower(), {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _CHALLENGE_RE.finditer(rest)
    }
