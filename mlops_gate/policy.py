"""Load and validate the policy YAML into frozen objects; resolve `extends`; waivers.

Every error names the file, the line where known, and the path of the bad key, and is raised
before anything is fetched (exit 2).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_gate import typed, yamlio
from mlops_gate.catalogue import catalogue
from mlops_gate.checkspec import CheckSpec
from mlops_gate.errors import PolicyError
from mlops_gate.model import Severity, Waiver
from mlops_gate.policies import PROFILES_DIR, profile_path, profiles
from mlops_gate.target import Target
from mlops_gate.waivers import VISIBLE_PATTERN, waiver_problem


@dataclass(frozen=True)
class TargetDoc:
    platform: Literal["github", "gitlab", "azure"] | None = None
    repository: str | None = None
    branch: str | None = None
    commit: str | None = None
    model: str | None = None
    image: str | None = None
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    api_url: str | None = None


@dataclass(frozen=True)
class CheckDoc:
    enabled: bool | None = None
    severity: Severity | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WaiverDoc:
    check: str
    owner: str
    reason: str
    expires: str
    subject: str = "*"


@dataclass(frozen=True)
class PolicyDoc:
    """The policy file format (version 1)."""

    version: Literal[1]
    extends: str | None = None
    fail_on: Severity | None = None
    target: TargetDoc | None = None
    checks: dict[str, CheckDoc] = field(default_factory=dict)
    waivers: tuple[WaiverDoc, ...] = ()


@dataclass(frozen=True)
class CheckConfig:
    enabled: bool
    severity: Severity
    params: Any  # the check's frozen params dataclass


@dataclass(frozen=True)
class Policy:
    source: str  # the file, or "builtin:NAME"
    chain: tuple[str, ...]  # this policy and everything it extends, nearest first
    fail_on: Severity
    target: Target
    checks: dict[str, CheckConfig]
    waivers: tuple[Waiver, ...]
    digest: str = ""


@dataclass(frozen=True)
class Confine:
    """Where a policy may be read from (a pull/merge request's own policy, before it is only compared with the
    trusted one): files inside `root` as resolved (links followed), built-in profiles, and the files outside
    `root` named in `allowed` (resolved paths the trusted policy reads too)."""

    root: Path
    allowed: frozenset[str] = frozenset()


def load(ref: str | Path, origin: str = "--policy", confine: Confine | None = None) -> Policy:
    """Load a policy file (or a built-in profile name) with everything it extends. `confine`: no file is read
    outside it (PolicyError, before it is opened)."""
    path = _locate(str(ref), base=Path.cwd(), origin=origin)
    docs: list[tuple[str, PolicyDoc]] = []
    seen: list[str] = []
    while True:
        key = str(path.resolve())
        if key in seen:
            cycle = " -> ".join([*(Path(s).name for s in seen), path.name])
            raise PolicyError(f"{path}: extends forms a cycle: {cycle}", "remove one of the extends")
        seen.append(key)
        _confined(path, confine, docs[-1][0] if docs else origin)
        doc = _read(path)
        docs.append((_label(path), doc))
        if doc.extends is None:
            break
        path = _locate(doc.extends, base=path.parent, origin=f"{_label(path)}: extends")
    return _resolve(docs)


def _confined(path: Path, confine: Confine | None, by: str) -> None:
    if confine is None or path.parent == PROFILES_DIR:
        return
    real = path.resolve()
    if real.is_relative_to(confine.root.resolve()) or str(real) in confine.allowed:
        return
    raise PolicyError(
        f"{by}: {path} is outside the repository: on a pull/merge request the request's own policy (and what "
        "it extends) is read only inside the repository; the target branch's policy judges the request",
        "extend a policy file of the repository or a built-in profile (a file outside the repository can be "
        "extended by the target branch's policy, or named with --policy)",
    )


def _label(path: Path) -> str:
    return f"builtin:{path.stem}" if path.parent == PROFILES_DIR else str(path)


def _locate(ref: str, base: Path, origin: str = "--policy") -> Path:
    candidate = base / ref
    if candidate.is_file():
        return candidate
    builtin = profile_path(ref)
    if builtin is not None and "/" not in ref and not ref.endswith((".yml", ".yaml")):
        return builtin
    raise PolicyError(
        f"{origin}: no policy file or built-in profile named {ref!r}",
        f"give a path to a YAML file, or one of the built-in profiles: {', '.join(profiles())}",
    )


MAX_POLICY_BYTES = 1 << 20


def _read(path: Path) -> PolicyDoc:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_POLICY_BYTES + 1)
        if len(raw) > MAX_POLICY_BYTES:
            raise PolicyError(f"{path}: the policy is larger than 1 MiB; it is not read")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the policy: {exc}") from None
    try:
        loaded = yamlio.load(text, max_documents=1)  # a policy is one document: a second is refused unread
    except yamlio.YamlSyntaxError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise PolicyError(f"{where}: {exc}") from None
    if len(loaded.documents) != 1 or not isinstance(loaded.documents[0], dict):
        raise PolicyError(f"{path}: a policy is one YAML mapping (with at least `version: 1`)")
    data = loaded.documents[0]
    if "version" not in data:
        raise PolicyError(f"{path}: version: required key is missing", "start the file with `version: 1`")
    try:
        doc: PolicyDoc = typed.from_data(PolicyDoc, data)
    except typed.DataError as exc:
        raise PolicyError(_where(path, loaded, exc.path) + f"{exc.path}: {exc.reason}") from None
    _check_ids(path, loaded, doc)
    return doc


def _where(path: Path, loaded: yamlio.Loaded, key_path: str) -> str:
    parts = _split(key_path)
    line = yamlio.line_of(loaded.lines, *parts)
    return f"{path}:{line}: " if line else f"{path}: "


def _split(key_path: str) -> list[str]:
    # "checks.vcs.reviews-required.params.x" -> check ids contain a dot; rejoin them
    raw = key_path.replace("[", ".").replace("]", "").split(".")
    if len(raw) >= 3 and raw[0] == "checks":
        return [raw[0], f"{raw[1]}.{raw[2]}", *raw[3:]]
    return raw


def _check_ids(path: Path, loaded: yamlio.Loaded, doc: PolicyDoc) -> None:
    known = catalogue().checks
    for check_id, cdoc in doc.checks.items():
        if check_id not in known:
            raise PolicyError(
                _where(path, loaded, f"checks.{check_id}") + f"checks.{check_id}: " + _unknown(check_id, known)
            )
        spec = known[check_id]
        for name, value in cdoc.params.items():
            key = f"checks.{check_id}.params.{name}"
            fields = typed.hints(spec.params)
            try:
                if name not in fields:
                    raise typed.DataError(key, f"unknown param (known: {', '.join(fields) or 'none'})")
                typed.from_data(fields[name], value, key)
            except typed.DataError as exc:
                raise PolicyError(
                    _where(path, loaded, exc.path) + str(exc),
                    f"`mlops-gate explain {check_id}` lists its params",
                ) from None
    for i, w in enumerate(doc.waivers):
        if w.check not in known:
            raise PolicyError(
                _where(path, loaded, f"waivers[{i}].check") + f"waivers[{i}].check: " + _unknown(w.check, known)
            )
        problem = waiver_problem(w)
        if problem is not None:
            key = f"waivers[{i}].{problem[0]}"
            raise PolicyError(_where(path, loaded, key) + f"{key}: {problem[1]}")


def _unknown(check_id: str, known: dict[str, CheckSpec]) -> str:
    close = difflib.get_close_matches(check_id, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else " (`mlops-gate checks` lists them)"
    return f"unknown check id {check_id!r}{hint}"


def _resolve(docs: list[tuple[str, PolicyDoc]]) -> Policy:
    known = catalogue().checks
    fail_on = Severity.HIGH
    target: dict[str, Any] = {}
    merged: dict[str, dict[str, Any]] = {cid: {"params": {}} for cid in known}
    waivers: list[Waiver] = []
    for _, doc in reversed(docs):  # furthest ancestor first; nearer files override
        fail_on = doc.fail_on or fail_on
        if doc.target:
            target.update({k: v for k, v in typed.to_data(doc.target).items() if v})
        for cid, cdoc in doc.checks.items():
            entry = merged[cid]
            if cdoc.enabled is not None:
                entry["enabled"] = cdoc.enabled
            if cdoc.severity is not None:
                entry["severity"] = cdoc.severity
            entry["params"] = {**entry["params"], **cdoc.params}
        waivers.extend(Waiver(w.check, w.subject, w.owner, w.reason, w.expires) for w in doc.waivers)
    checks = {}
    for cid, spec in known.items():
        entry = merged[cid]
        try:
            params = typed.from_data(spec.params, entry["params"], f"checks.{cid}.params")
        except typed.DataError as exc:
            raise PolicyError(f"{docs[0][0]}: {exc}", f"`mlops-gate explain {cid}` lists its params") from None
        checks[cid] = CheckConfig(entry.get("enabled", True), entry.get("severity", spec.severity), params)
    policy = Policy(
        source=docs[0][0],
        chain=tuple(label for label, _ in docs),
        fail_on=fail_on,
        target=Target(**target),
        checks=checks,
        waivers=tuple(waivers),
    )
    return dataclasses.replace(policy, digest=digest_of(policy))


def schema() -> dict[str, Any]:
    """JSON Schema of the policy format, with every check's params."""
    out = typed.schema_of(PolicyDoc)
    out = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mlops-gate.dev/schemas/policy-v1.json",
        "title": "mlops-gate policy",
        **out,
    }
    check_props = {}
    for cid, spec in catalogue().checks.items():
        if spec.origin != "builtin" and not spec.origin.startswith("mlops_gate."):
            continue
        cschema = typed.schema_of(CheckDoc)
        cschema["properties"]["params"] = typed.schema_of(spec.params)
        cschema["description"] = spec.title
        check_props[cid] = cschema
    out["properties"]["checks"] = {"type": "object", "properties": check_props, "additionalProperties": False}
    waiver = out["properties"]["waivers"]["items"]["properties"]
    waiver["check"] = {"enum": sorted(check_props)}
    waiver["expires"] = {
        "type": "string",
        "format": "date",
        "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "YYYY-MM-DD only. The waiver applies through this day, judged in UTC "
        "(whatever the runner's time zone), and no longer from the next day on.",
    }
    for name in ("owner", "reason", "subject"):
        waiver[name] = {
            **waiver[name],
            "minLength": 1,
            "pattern": VISIBLE_PATTERN,
            "description": "must contain visible text (not only blank or invisible characters)",
        }
    return out


def applied(policy: Policy) -> dict[str, Any]:
    """The resolved policy as the run applied it: exactly what its digest covers."""
    return {
        "fail_on": policy.fail_on.value,
        "target": typed.to_data(policy.target),
        "checks": typed.to_data(policy.checks),
        "waivers": typed.to_data(policy.waivers),
    }


def digest_of(policy: Policy) -> str:
    return digest_applied(applied(policy))


def digest_applied(data: Any) -> str:
    """SHA-256 of a policy as applied (applied()'s data, or the same read back from an evidence bundle)."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
