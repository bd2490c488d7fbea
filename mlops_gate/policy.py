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
from mlops_gate.waivers import expiry, text_problem


@dataclass(frozen=True)
class TargetDoc:
    """What is gated, when flags, MLOPS_GATE_* variables and CI detection do not say (they win over it); a local
    run also reads the platform, repository, branch and commit from the checkout (below all of them).

    platform: the source-control platform: github, gitlab or azure. Needed for a remote the gate does not
        recognise (GitHub Enterprise Server, self-managed GitLab, Azure DevOps Server).
        e.g. gitlab
    repository: the repository on that platform: owner/name (GitHub), group/subgroup/project (GitLab),
        organization/project/repository (Azure DevOps).
        e.g. acme/churn-model
    branch: the branch being gated (default: the checked-out one, or CI's).
        e.g. main
    commit: the commit being gated, full SHA (default: HEAD, or CI's).
        e.g. 4f2c9e1b7d3a5c8e0f1a2b3c4d5e6f7a8b9c0d1e
    model: the MLflow model version released: NAME@ALIAS or NAME/VERSION (the registry checks need it).
        e.g. churn@champion
    image: the container image released, by digest (the image checks read it from its registry).
        e.g. registry.example.com/ml/churn@sha256:4f2c9e1b7d3a5c8e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e
    prometheus_url: the live Prometheus that monitors the model (monitoring.live).
        e.g. https://prometheus.example.com
    alertmanager_url: the live Alertmanager (optional, for monitoring.live).
        e.g. https://alertmanager.example.com
    api_url: the platform's API: GitHub Enterprise Server (https://HOST/api/v3), self-managed GitLab
        (https://HOST), Azure DevOps Server (https://HOST/COLLECTION). The platform token is sent there.
        e.g. https://github.example.com/api/v3
    """

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
    """One check's settings.

    enabled: whether the check runs (`mlops-gate checks` shows which are on by default).
        e.g. true
    severity: the severity its failures have; they block at or above fail_on.
        e.g. critical
    params: the check's own settings (`mlops-gate explain ID` lists them with their defaults).
    """

    enabled: bool | None = None
    severity: Severity | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WaiverDoc:
    """Accepts a failed result for a while: only failures are waived, never an error.

    check: the id of the check whose failure is accepted.
        e.g. image.base-pinned
    owner: who accepted it (a person or team).
        e.g. "@ml-platform"
    reason: why, with a ticket that tracks the fix.
        e.g. dev-only image, never deployed (PLAT-42)
    expires: the last day (YYYY-MM-DD, UTC) it applies; after it the failure blocks again and is reported.
        e.g. "2027-03-31"
    subject: a glob over the result's subject (default: every subject of the check).
        e.g. "file:tools/*"
    """

    check: str
    owner: str
    reason: str
    expires: str
    subject: str = "*"


@dataclass(frozen=True)
class PolicyDoc:
    """The policy file format (version 1).

    version: the format's version: 1.
        e.g. 1
    extends: a built-in profile (default, strict) or a path to a policy this one refines, relative to this file.
        e.g. default
    fail_on: the lowest severity that blocks (exit 1): critical, high, medium, low or info.
        e.g. high
    target: what is gated (flags, MLOPS_GATE_* variables and CI detection win over it).
    checks: settings per check id: enabled, severity, params.
    waivers: accepted failures, each with an owner, a reason and an expiry date.
    """

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
    # which file of the chain set each check's `enabled` (a label as in `chain`; absent: nobody, it is on)
    enabled_by: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a policy file: where (file, line) and what, with the fix when there is one."""

    text: str  # "policy.yml:5: checks.x.params.y: unknown param (...)"
    line: int = 0
    hint: str | None = None


def load(ref: str | Path, origin: str = "--policy") -> Policy:
    """Load a policy file (or a built-in profile name) with everything it extends. Every problem in every
    file of the chain is reported at once (one PolicyError listing them all, in file and line order)."""
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
        doc, extends, problems = _read(path)
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


def _read(path: Path) -> tuple[PolicyDoc | None, str | None, list[Problem]]:
    """The file as a PolicyDoc (None when it has problems), what it extends (as written) and every problem."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_POLICY_BYTES + 1)
        if len(raw) > MAX_POLICY_BYTES:
            return None, None, [Problem(f"{path}: the policy is larger than 1 MiB; it is not read")]
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, None, [Problem(f"{path}: cannot read the policy: {exc}")]
    try:
        loaded = yamlio.load(text, max_documents=1)  # a policy is one document: a second is refused unread
    except yamlio.YamlSyntaxError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        return None, None, [Problem(f"{where}: {exc}", exc.line or 0)]
    if len(loaded.documents) != 1 or not isinstance(loaded.documents[0], dict):
        return None, None, [Problem(f"{path}: a policy is one YAML mapping (with at least `version: 1`)")]
    data = loaded.documents[0]
    extends = data.get("extends") if isinstance(data.get("extends"), str) else None
    problems = [_problem(path, loaded, exc) for exc in typed.problems(PolicyDoc, data)]
    if "version" not in data:
        problems = [p for p in problems if not p.text.endswith("version: required key is missing")]
        problems.insert(0, Problem(f"{path}: version: required key is missing", 0, "start the file with `version: 1`"))
    problems += _check_ids(path, loaded, data)
    if problems:
        return None, extends, problems
    doc: PolicyDoc = typed.from_data(PolicyDoc, data)
    return doc, extends, []


def _problem(path: Path, loaded: yamlio.Loaded, exc: typed.DataError, hint: str | None = None) -> Problem:
    line = yamlio.line_of(loaded.lines, *_split(exc.path))
    where = f"{path}:{line}: " if line else f"{path}: "
    return Problem(where + str(exc), line or 0, hint)


def _split(key_path: str) -> list[str]:
    # "checks.vcs.reviews-required.params.x" -> check ids contain a dot; rejoin them
    raw = key_path.replace("[", ".").replace("]", "").split(".")
    if len(raw) >= 3 and raw[0] == "checks":
        return [raw[0], f"{raw[1]}.{raw[2]}", *raw[3:]]
    return raw


def _check_ids(path: Path, loaded: yamlio.Loaded, data: dict[str, Any]) -> list[Problem]:
    """Check ids (under checks: and in waivers), params by each check's own types, and waiver fields: read
    from the raw document, so that they are reported next to any structural problem of the file."""
    known = catalogue().checks
    out: list[Problem] = []
    checks = data.get("checks")
    for check_id, cdoc in checks.items() if isinstance(checks, dict) else ():
        if check_id not in known:
            out.append(_problem(path, loaded, typed.DataError(f"checks.{check_id}", _unknown(check_id, known))))
            continue
        params = cdoc.get("params") if isinstance(cdoc, dict) else None
        fields = typed.hints(known[check_id].params)
        hint = f"`mlops-gate explain {check_id}` lists its params"
        for name, value in params.items() if isinstance(params, dict) else ():
            key = f"checks.{check_id}.params.{name}"
            if name not in fields:
                close = difflib.get_close_matches(str(name), fields, n=1, cutoff=0.6)
                guess = f"did you mean {close[0]}? " if close else ""
                error = typed.DataError(key, f"unknown param ({guess}known: {', '.join(fields) or 'none'})")
                out.append(_problem(path, loaded, error, hint))
                continue
            out += [_problem(path, loaded, exc, hint) for exc in typed.problems(fields[name], value, key)]
    waivers = data.get("waivers")
    for i, w in enumerate(waivers if isinstance(waivers, list) else ()):
        if not isinstance(w, dict):
            continue
        if isinstance(w.get("check"), str) and w["check"] not in known:
            out.append(_problem(path, loaded, typed.DataError(f"waivers[{i}].check", _unknown(w["check"], known))))
        if typed.problems(WaiverDoc, w):
            continue  # reported with the file's structure
        for key, problem in _waiver_problems(typed.from_data(WaiverDoc, w)):
            out.append(_problem(path, loaded, typed.DataError(f"waivers[{i}].{key}", problem)))
    return out


def _waiver_problems(w: WaiverDoc) -> list[tuple[str, str]]:
    out = []
    try:
        expiry(w.expires)
    except ValueError as exc:
        out.append(("expires", str(exc)))
    for name in ("owner", "reason", "subject"):
        problem = text_problem(getattr(w, name))
        if problem is not None:
            out.append((name, problem))
    return out


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
    enabled_by: dict[str, str] = {}
    for label, doc in reversed(docs):  # furthest ancestor first; nearer files override
        fail_on = doc.fail_on or fail_on
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
        enabled_by=enabled_by,
    )
    return dataclasses.replace(policy, digest=digest_of(policy))


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
