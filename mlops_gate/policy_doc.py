"""The policy file format (version 1) and reading one file of it: YAML, structure, check ids, each check's params
by its own types, waivers — every problem with its file, line and key path, all at once (mlops_gate.policy
collects them over the `extends` chain and raises one PolicyError)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_gate import typed, yamlio
from mlops_gate.catalogue import catalogue
from mlops_gate.checkspec import CheckSpec
from mlops_gate.errors import closest
from mlops_gate.model import Severity
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
    exclude: repository paths (globs) the file checks leave out, such as vendored code or examples: `*`
        within a folder, `**` across folders, a folder leaves out all it holds; every file left out is listed
        in the evidence. Files git ignores are left out too.
        e.g. ["vendor/**", "examples/", "**/testdata/**"]
    """

    version: Literal[1]
    extends: str | None = None
    fail_on: Severity | None = None
    target: TargetDoc | None = None
    checks: dict[str, CheckDoc] = field(default_factory=dict)
    waivers: tuple[WaiverDoc, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a policy file: where (file, line) and what, with the fix when there is one."""

    text: str  # "policy.yml:5: checks.x.params.y: unknown param (...)"
    line: int = 0
    hint: str | None = None


MAX_POLICY_BYTES = 1 << 20


def read(path: Path) -> tuple[PolicyDoc | None, str | None, list[Problem]]:
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
        if not isinstance(params, dict) or not params:  # a check given no params is not imported for this
            continue
        fields = typed.hints(known[check_id].params)
        hint = f"`mlops-gate explain {check_id}` lists its params"
        for name, value in params.items():
            key = f"checks.{check_id}.params.{name}"
            if name not in fields:
                close = closest(str(name), fields)
                guess = f"did you mean {close}? " if close else ""
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
    close = closest(check_id, known)
    hint = f" (did you mean {close}?)" if close else " (`mlops-gate checks` lists them)"
    return f"unknown check id {check_id!r}{hint}"
