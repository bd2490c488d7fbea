"""Load the policy with everything it `extends` into frozen objects (the file format and the reading of one file:
mlops_gate.policy_doc); the policy as applied, and its digest.

Every problem of every file in the chain is reported at once, each with its file, line and key path, in one
PolicyError raised before anything is fetched (exit 2).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_gate import typed
from mlops_gate.catalogue import IndexedSpec, catalogue
from mlops_gate.errors import PolicyError
from mlops_gate.model import Severity, Waiver
from mlops_gate.policies import PROFILES_DIR, profile_path, profiles
from mlops_gate.policy_doc import CheckDoc, PolicyDoc, Problem, TargetDoc, WaiverDoc, read
from mlops_gate.target import Target

__all__ = ["CheckDoc", "PolicyDoc", "Problem", "TargetDoc", "WaiverDoc", "applied", "digest_of", "load"]


@dataclass(frozen=True)
class CheckConfig:
    """One check as the policy configures it: on or off, its severity and its params."""

    enabled: bool
    severity: Severity
    params: Any  # the check's frozen params dataclass


class DefaultParams(CheckConfig):
    """The config of a built-in check whose params the policy leaves at their defaults: `params` (the check's
    Params()) imports the check's module when first asked for, which a run does only for the checks it runs."""

    def __init__(self, enabled: bool, severity: Severity, spec: IndexedSpec) -> None:
        object.__setattr__(self, "enabled", enabled)
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "spec", spec)

    spec: IndexedSpec

    @property
    def params(self) -> Any:
        return self.spec.params()

    def __repr__(self) -> str:
        return f"DefaultParams({self.enabled!r}, {self.severity!r}, {self.spec.id})"


@dataclass(frozen=True)
class Policy:
    """The policy in use, merged with all it extends: target, each check's config, waivers, excluded paths, digest."""

    source: str  # the file, or "builtin:NAME"
    chain: tuple[str, ...]  # this policy and everything it extends, nearest first
    fail_on: Severity
    target: Target
    checks: dict[str, CheckConfig]
    waivers: tuple[Waiver, ...]
    digest: str = ""
    exclude: tuple[str, ...] = ()  # paths (globs) the file checks leave out, from every file of the chain
    # which file of the chain set each check's `enabled` (a label as in `chain`; absent: nobody, it is on)
    enabled_by: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Confine:
    """Where a policy may be read from (a pull/merge request's own policy, before it is only compared with the
    trusted one): files inside `root` as resolved (links followed), built-in profiles, and the files outside
    `root` named in `allowed` (resolved paths the trusted policy reads too)."""

    root: Path
    allowed: frozenset[str] = frozenset()


def load(ref: str | Path, origin: str = "--policy", confine: Confine | None = None) -> Policy:
    """Load a policy file (or a built-in profile name) with everything it extends. Every problem in every
    file of the chain is reported at once (one PolicyError listing them all, in file and line order).
    `confine`: no file is read outside it (PolicyError, before it is opened)."""
    path = _locate(str(ref), base=Path.cwd(), origin=origin)
    docs: list[tuple[str, PolicyDoc]] = []
    found: list[Problem] = []
    seen: list[str] = []
    while True:
        key = str(path.resolve())
        if key in seen:
            cycle = " -> ".join([*(Path(s).name for s in seen), path.name])
            found.append(Problem(f"{path}: extends forms a cycle: {cycle}", hint="remove one of the extends"))
            break
        seen.append(key)
        _confined(path, confine, docs[-1][0] if docs else origin)
        doc, extends, problems = read(path)
        found += sorted(problems, key=lambda p: p.line)
        if doc is not None:
            docs.append((_label(path), doc))
        if extends is None:
            break
        try:
            path = _locate(extends, base=path.parent, origin=f"{_label(path)}: extends")
        except PolicyError as exc:
            found.append(Problem(exc.message, hint=exc.hint))
            break
    if found:
        raise _error(found)
    return _resolve(docs)


def _error(found: list[Problem]) -> PolicyError:
    if len(found) == 1:
        return PolicyError(found[0].text, found[0].hint)
    hints = list(dict.fromkeys(p.hint for p in found if p.hint))
    lines = "\n".join(f"  {p.text}" for p in found)
    return PolicyError(f"the policy has {len(found)} problems:\n{lines}", "; ".join(hints) or None)


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


def _resolve(docs: list[tuple[str, PolicyDoc]]) -> Policy:
    known = catalogue().checks
    fail_on = Severity.HIGH
    target: dict[str, Any] = {}
    merged: dict[str, dict[str, Any]] = {cid: {"params": {}} for cid in known}
    waivers: list[Waiver] = []
    exclude: dict[str, None] = {}
    enabled_by: dict[str, str] = {}
    for label, doc in reversed(docs):  # furthest ancestor first; nearer files override
        fail_on = doc.fail_on or fail_on
        exclude.update(dict.fromkeys(doc.exclude))
        if doc.target:
            target.update({k: v for k, v in typed.to_data(doc.target).items() if v})
        for cid, cdoc in doc.checks.items():
            entry = merged[cid]
            if cdoc.enabled is not None:
                entry["enabled"] = cdoc.enabled
                enabled_by[cid] = label
            if cdoc.severity is not None:
                entry["severity"] = cdoc.severity
            entry["params"] = {**entry["params"], **cdoc.params}
        waivers.extend(Waiver(w.check, w.subject, w.owner, w.reason, w.expires) for w in doc.waivers)
    checks: dict[str, CheckConfig] = {}
    for cid, spec in known.items():
        entry = merged[cid]
        enabled, severity = entry.get("enabled", True), entry.get("severity", spec.severity)
        if isinstance(spec, IndexedSpec) and not entry["params"]:  # its module is imported only if it runs
            checks[cid] = DefaultParams(enabled, severity, spec)
            continue
        try:
            params = typed.from_data(spec.params, entry["params"], f"checks.{cid}.params")
        except typed.DataError as exc:
            raise PolicyError(f"{docs[0][0]}: {exc}", f"`mlops-gate explain {cid}` lists its params") from None
        checks[cid] = CheckConfig(enabled, severity, params)
    policy = Policy(
        source=docs[0][0],
        chain=tuple(label for label, _ in docs),
        fail_on=fail_on,
        target=Target(**target),
        checks=checks,
        waivers=tuple(waivers),
        exclude=tuple(exclude),
        enabled_by=enabled_by,
    )
    return dataclasses.replace(policy, digest=digest_of(policy))


def applied(policy: Policy) -> dict[str, Any]:
    """The resolved policy as the run applied it: exactly what its digest covers."""
    return {
        "fail_on": policy.fail_on.value,
        "target": typed.to_data(policy.target),
        "checks": {cid: _config_data(c) for cid, c in policy.checks.items()},
        "waivers": typed.to_data(policy.waivers),
        **({"exclude": list(policy.exclude)} if policy.exclude else {}),  # absent when empty: digests stay put
    }


def _config_data(config: CheckConfig) -> dict[str, Any]:
    if isinstance(config, DefaultParams):  # the defaults as the index records them: no import for the digest
        return {"enabled": config.enabled, "severity": config.severity.value, "params": config.spec.default_params}
    data: dict[str, Any] = typed.to_data(config)
    return data


def digest_of(policy: Policy) -> str:
    return digest_applied(applied(policy))


def digest_applied(data: Any) -> str:
    """SHA-256 of a policy as applied (applied()'s data, or the same read back from an evidence bundle)."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
