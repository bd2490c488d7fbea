"""The facts file (`--facts-out` / `--facts-in`): collected facts as plain JSON, each kind with its value (or
the error that kept it from being read), where it was read and what reading it cost.

Reading one back validates every value against its fact type; an evidence bundle carries a facts file as
its `facts` member (mlops_gate.replay reads both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_gate import __version__, typed
from mlops_gate.errors import UsageError
from mlops_gate.facts import FACT_KINDS, FactRecord
from mlops_gate.facts.policy_file import PolicyFiles
from mlops_gate.target import Target

SCHEMA_VERSION = 1


def dump(
    records: Mapping[str, FactRecord], target: Target, policy: tuple[str, str] = ("", ""), facts_file: str | None = None
) -> dict[str, Any]:
    """`policy`: (source, digest) of the policy the facts were collected under, to warn on a different one;
    `facts_file`: the file the facts were replayed from (None: read live)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mlops-gate", "version": __version__},
        "target": {k: v for k, v in typed.to_data(target).items() if v},
        "facts_source": "live" if facts_file is None else "replayed",
        **({"facts_file": facts_file} if facts_file is not None else {}),
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


def load(path: Path, data: Any) -> tuple[Target, dict[str, FactRecord]]:
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
        records["policy_file"] = FactRecord(
            "policy_file",
            PolicyFiles(source, pull_request=False),
            sources=("derived: the saved target is not a pull request",),
        )
    return target, records


def _record(kind: str, entry: Any) -> FactRecord:
    path = f"facts.{kind}"
    if not isinstance(entry, dict):
        raise typed.DataError(path, "expected a mapping")
    meta = typed.from_data(_Meta, {k: v for k, v in entry.items() if k in ("sources", "requests", "duration_s")}, path)
    if "error" in entry:
        value, error = None, typed.from_data(str, entry["error"], f"{path}.error")
    elif "value" in entry:
        value, error = typed.from_data(FACT_KINDS[kind].type, entry["value"], f"{path}.value"), None
    else:
        raise typed.DataError(path, "has neither value nor error")
    return FactRecord(kind, value, error, meta.requests, meta.duration_s, meta.sources)


@dataclass(frozen=True)
class _Meta:
    """What the facts file says of how one kind was read: its sources, the requests made and the time taken."""

    sources: tuple[str, ...] = ()
    requests: int = 0
    duration_s: float = 0.0
