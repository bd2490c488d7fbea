"""A repository's own policy file (read from its default branch through the API) over the fleet policy.

The repository file is read as if it said `extends: <the fleet policy>`: its check params, severities,
switches, waivers and `fail_on` apply to that repository. What it cannot do (docs/security.md: a file the
judged repository controls never decides where the gate connects or which credentials it sends):
- `extends` anything else (dropped, and said);
- set a target endpoint or identity: `api_url`, `prometheus_url`, `alertmanager_url`, `platform`,
  `repository`, `branch`, `commit` (dropped, and said); `image` only on a registry host the fleet allows
  (`--image-registry`); `model` names a model on the MLflow server the environment configures, so it is
  taken as it is.
Every switch it flips off and every waiver it adds is listed in the repository's entry of the fleet report.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_gate import yamlio
from mlops_gate.errors import PolicyError
from mlops_gate.policy import Policy, load

REPO_TARGET_KEYS = frozenset({"model", "image"})


@dataclass(frozen=True)
class Applied:
    """The policy one repository is judged by (the fleet's, with the repository's own file over it), and the
    model and image it targets."""

    policy: Policy
    notes: tuple[str, ...]  # what the repository's file changed, and what of it was refused
    model: str | None = None
    image: str | None = None


def registry_host(image: str) -> str:
    first = image.split("/", 1)[0]
    return first.lower() if "/" in image and ("." in first or ":" in first or first == "localhost") else "docker.io"


def apply(fleet_policy: str, fleet: Policy, name: str, text: str, allowed_registries: frozenset[str]) -> Applied:
    """The policy judging one repository: the fleet's, with the repository's file `name` (`text`) over it.
    A file that is not a valid policy raises PolicyError (the repository is then judged `error`)."""
    try:
        loaded = yamlio.load(text, max_documents=1)
    except yamlio.YamlSyntaxError as exc:
        raise PolicyError(f"{name}:{exc.line or ''}: {exc}") from None
    if len(loaded.documents) != 1 or not isinstance(loaded.documents[0], dict):
        raise PolicyError(f"{name}: a policy is one YAML mapping (with at least `version: 1`)")
    data: dict[str, Any] = dict(loaded.documents[0])
    notes: list[str] = []
    if "extends" in data and data["extends"] != fleet_policy:
        notes.append(f"{name}: extends {data['extends']!r} ignored: the fleet policy is extended")
    target = data.pop("target", None)
    kept: dict[str, Any] = {}
    if isinstance(target, dict):
        for key, value in target.items():
            if key == "image" and isinstance(value, str) and registry_host(value) not in allowed_registries:
                notes.append(
                    f"{name}: target.image on {registry_host(value)} refused: not a registry the fleet allows "
                    "(--image-registry)"
                )
            elif key in REPO_TARGET_KEYS:
                kept[key] = value
            else:
                notes.append(f"{name}: target.{key} refused: a repository's file cannot redirect the fleet")
    elif target is not None:
        kept = {"invalid": target}  # let the policy loader say what is wrong with it
    for cid, conf in (data.get("checks") or {}).items() if isinstance(data.get("checks"), dict) else ():
        if isinstance(conf, dict) and conf.get("enabled") is False:
            notes.append(f"{name}: disables {cid}")
    for w in data.get("waivers") or () if isinstance(data.get("waivers"), list) else ():
        if isinstance(w, dict):
            notes.append(f"{name}: waives {w.get('check')} for {w.get('subject')} (owner {w.get('owner')})")
    data["extends"] = fleet_policy
    if kept:
        data["target"] = kept
    with tempfile.TemporaryDirectory(prefix="mlops-gate-fleet-") as tmp:
        path = Path(tmp) / "policy.json"
        path.write_text(json.dumps(data, default=str), encoding="utf-8")
        try:
            policy = load(path, origin=name)
        except PolicyError as exc:
            raise PolicyError(exc.message.replace(str(path), name), exc.hint) from None
    return Applied(policy, tuple(notes), policy.target.model or fleet.target.model, policy.target.image)
