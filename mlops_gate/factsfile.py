"""`--facts-out` / `--facts-in`: collected facts as plain JSON, with where each was read.

`--facts-in` also takes an evidence bundle (`audit --evidence`): its `facts` member is a facts file, and
`replay()` gives the policy as applied and the run's selection, so the saved verdict can be reproduced.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_gate import __version__, typed
from mlops_gate.engine import FactRecord
from mlops_gate.errors import UsageError
from mlops_gate.evidence import is_bundle
from mlops_gate.facts import FACT_KINDS
from mlops_gate.facts_git import PolicyFiles
from mlops_gate.model import Severity
from mlops_gate.policy import Policy
from mlops_gate.policy_sources import from_applied
from mlops_gate.target import Target

SCHEMA_VERSION = 1


def dump(records: Mapping[str, FactRecord], target: Target, policy: tuple[str, str] = ("", "")) -> dict[str, Any]:
    """`policy`: (source, digest) of the policy the facts were collected under, to warn on a different one."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mlops-gate", "version": __version__},
        "target": {k: v for k, v in typed.to_data(target).items() if v},
        **({"policy": {"source": policy[0], "digest": policy[1]}} if policy[1] else {}),
        "facts": {
            kind: {
                "type": FACT_KINDS[kind].type.__name__,
                "sources": list(r.sources),
                "requests": r.requests,
                "duration_s": r.duration_s,
                **({"error": r.error} if r.error else {"value": typed.to_data(r.value)}),
            }
            for kind, r in sorted(records.items())
        },
    }


def policy_digest(path: Path) -> str | None:
    """The digest of the policy a facts file was collected under (after load() validated the file)."""
    data = _unwrap(json.loads(path.read_text(encoding="utf-8")))
    policy = data.get("policy")
    return str(policy.get("digest")) if isinstance(policy, dict) and policy.get("digest") else None


def load(path: Path) -> tuple[Target, dict[str, FactRecord]]:
    """Read a facts file, validating every value against its fact type; UsageError when it does not fit."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--facts-in: cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--facts-in: {path} is not JSON: {exc}") from None
    data = _unwrap(data)
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(
            f"--facts-in: {path} is not an mlops-gate facts file (schema_version {SCHEMA_VERSION})",
            "write one with `mlops-gate check --facts-out FILE`",
        )
    try:
        target = typed.from_data(Target, data.get("target") or {}, "target")
        records = {}
        for kind, entry in (data.get("facts") or {}).items():
            if kind not in FACT_KINDS:
                raise typed.DataError(f"facts.{kind}", "unknown fact kind (written by a newer mlops-gate?)")
            records[kind] = _record(kind, entry)
    except typed.DataError as exc:
        raise UsageError(f"--facts-in: {path}: {exc}") from None
    if "policy_file" not in records and target.event not in ("pull_request", "merge_request"):
        # written before policy.unchanged existed: outside a pull request the fact follows from the target
        source = str((data.get("policy") or {}).get("source") or "")
        records["policy_file"] = FactRecord("policy_file", PolicyFiles(source, pull_request=False),
                                            sources=("derived: the saved target is not a pull request",))
    return target, records


def _unwrap(data: Any) -> Any:
    return data["facts"] if is_bundle(data) and isinstance(data.get("facts"), dict) else data


@dataclass(frozen=True)
class Replay:
    """What an evidence bundle says about the run that wrote it."""

    policy: Policy  # as applied
    release: str
    fail_on: Severity | None
    only: tuple[str, ...]
    skip: tuple[str, ...]
    today: dt.date  # waivers are judged as of the audit, so a waiver that expired since still applies


def replay(path: Path) -> Replay | None:
    """The run recorded in an evidence bundle; None for a plain facts file. Call after load()."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not is_bundle(data):
        return None
    pol, run = data.get("policy") or {}, data.get("run") or {}
    try:
        policy = from_applied(pol.get("applied"), f"{path} (policy {pol.get('source')}, as applied)", "policy.applied")
        created = dt.datetime.fromisoformat(str(data.get("created", "")).replace("Z", "+00:00"))
        fail_on = Severity(run["fail_on"]) if run.get("fail_on") else None
        only = tuple(str(i) for i in run.get("only") or ())
        skip = tuple(str(i) for i in run.get("skip") or ())
    except (ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"--facts-in: {path}: not a valid evidence bundle ({exc})") from None
    from mlops_gate.evidence import digest

    if data.get("sha256") != digest(data):  # facts, report or policy edited after sealing
        raise UsageError(f"--facts-in: {path}: the bundle does not match its sha256 (tampered?)",
                         f"check it with `mlops-gate verify-evidence {path}`")
    if "signature" in data and _signed_digest(data.get("signature")) != data.get("sha256"):
        raise UsageError(f"--facts-in: {path}: the signature covers another bundle (edited and resealed?)",
                         f"check it with `mlops-gate verify-evidence {path} --key PEM`")
    if pol.get("digest") and policy.digest != pol.get("digest"):
        raise UsageError(f"--facts-in: {path}: the policy as applied does not match its digest (tampered?)",
                         f"check it with `mlops-gate verify-evidence {path}`")
    release = str((data.get("release") or {}).get("tag") or "")
    return Replay(policy, release, fail_on, only, skip, created.date())


def _signed_digest(envelope: Any) -> str | None:
    """The bundle sha256 the DSSE-signed statement names (no key needed to read it)."""
    import base64

    try:
        statement = json.loads(base64.b64decode(str(envelope["payload"]), validate=True))
        return str(statement["predicate"]["bundle"]["sha256"])
    except (KeyError, TypeError, ValueError):
        return None


def _record(kind: str, entry: Any) -> FactRecord:
    path = f"facts.{kind}"
    if not isinstance(entry, dict):
        raise typed.DataError(path, "expected a mapping")
    meta = typed.from_data(
        _Meta, {k: v for k, v in entry.items() if k in ("sources", "requests", "duration_s")}, path
    )
    if "error" in entry:
        value, error = None, typed.from_data(str, entry["error"], f"{path}.error")
    elif "value" in entry:
        value, error = typed.from_data(FACT_KINDS[kind].type, entry["value"], f"{path}.value"), None
    else:
        raise typed.DataError(path, "has neither value nor error")
    return FactRecord(kind, value, error, meta.requests, meta.duration_s, meta.sources)


@dataclass(frozen=True)
class _Meta:
    sources: tuple[str, ...] = ()
    requests: int = 0
    duration_s: float = 0.0
