"""`--facts-out` / `--facts-in`: collected facts as plain JSON, with where each was read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_gate import __version__, typed
from mlops_gate.engine import FactRecord
from mlops_gate.errors import UsageError
from mlops_gate.facts import FACT_KINDS
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
    data = json.loads(path.read_text(encoding="utf-8"))
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
    return target, records


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
