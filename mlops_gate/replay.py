"""`--facts-in`: a facts file (mlops_gate.facts.saved) or an evidence bundle read back, and the target a
replay may judge.

An evidence bundle (`audit --evidence`) holds a facts file as its `facts` member, and the policy as applied
and the run's selection, so that the saved verdict can be reproduced (`Replay`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlops_gate import evidence, jsonfile
from mlops_gate.errors import UsageError
from mlops_gate.facts import FactRecord
from mlops_gate.facts import saved as facts_file
from mlops_gate.model import Severity
from mlops_gate.policy import Policy
from mlops_gate.policy_sources import from_applied
from mlops_gate.target import FIELDS, Target


@dataclass(frozen=True)
class Replay:
    """What an evidence bundle says about the run that wrote it."""

    policy: Policy  # as applied
    release: str
    fail_on: Severity | None
    only: tuple[str, ...]
    skip: tuple[str, ...]
    today: dt.date  # waivers are judged as of the audit, so a waiver that expired since still applies


@dataclass(frozen=True)
class Saved:
    """A facts file (or the facts of an evidence bundle) read back: what was judged, and the facts."""

    path: str
    target: Target
    records: dict[str, FactRecord]
    policy_digest: str | None  # of the policy the facts were collected under, when recorded
    replay: Replay | None  # an evidence bundle: the run it recorded


def read(path: Path) -> Saved:
    """Read a facts file or an evidence bundle, validating every value against its fact type, and a bundle
    as `verify-evidence` does (without a key); UsageError (exit 2) when it does not fit."""
    try:
        data = jsonfile.read(path)
    except OSError as exc:
        raise UsageError(f"--facts-in: cannot read {path}: {exc.strerror or exc}") from None
    except jsonfile.JsonFileError as exc:
        raise UsageError(f"--facts-in: {path} {exc}", "write one with `mlops-gate check --facts-out FILE`") from None
    replayed = _replay(path, data) if evidence.is_bundle(data) else None
    facts = _unwrap(data)
    target, records = facts_file.load(path, facts)
    policy = facts.get("policy")
    recorded = str(policy.get("digest")) if isinstance(policy, dict) and policy.get("digest") else None
    return Saved(str(path), target, records, recorded, replayed)


def _unwrap(data: Any) -> Any:
    return data["facts"] if evidence.is_bundle(data) and isinstance(data.get("facts"), dict) else data


def _replay(path: Path, data: dict[str, Any]) -> Replay:
    """The run recorded in an evidence bundle, once the bundle passed every check verify-evidence makes
    without a key (sha256, policy digest, agreement of its parts, the signed statement)."""
    from mlops_gate import evidence_verify

    if data.get("schema_version") != evidence.SCHEMA_VERSION:
        raise UsageError(
            f"--facts-in: {path}: evidence schema_version {data.get('schema_version')!r} is not "
            f"{evidence.SCHEMA_VERSION}"
        )
    ok, problem = evidence_verify.check(data)
    if not ok:
        raise UsageError(
            f"--facts-in: {path}: {problem}", f"check it with `mlops-gate verify-evidence {path} --key PEM`"
        )
    pol, run = data["policy"], data["run"]
    try:
        policy = from_applied(pol.get("applied"), f"{path} (policy {pol.get('source')}, as applied)", "policy.applied")
        created = dt.datetime.fromisoformat(str(data.get("created", "")).replace("Z", "+00:00"))
        fail_on = Severity(run["fail_on"]) if run.get("fail_on") else None
        only = tuple(str(i) for i in run.get("only") or ())
        skip = tuple(str(i) for i in run.get("skip") or ())
    except (ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"--facts-in: {path}: not a valid evidence bundle ({exc})") from None
    if policy.digest != pol.get("digest"):
        raise UsageError(
            f"--facts-in: {path}: the policy as applied does not match its digest (tampered?)",
            f"check it with `mlops-gate verify-evidence {path}`",
        )
    when = created if created.tzinfo else created.replace(tzinfo=dt.timezone.utc)
    return Replay(policy, str(data["release"]["tag"]), fail_on, only, skip, when.astimezone(dt.timezone.utc).date())


# --- the target a replay judges ---------------------------------------------------------------------

IDENTITY = ("platform", "repository", "branch", "commit", "model", "image", "release", "base_branch")


def judged_target(saved: Saved, given: Target) -> Target:
    """The target of a replay: what the facts file records, completed by `given` (CI detection, the policy's
    target:, flags — merged as for a live run, flags winning) where it records nothing. UsageError when
    `given` names another platform, repository, branch, commit, model, image, release or pull-request base
    than the one the facts were read for: facts recorded for one commit never pass for another. To replay
    facts of another target on purpose inside CI, name that target with flags (they win over detection)."""
    recorded = saved.target
    for name in IDENTITY:
        mine, theirs = getattr(given, name), getattr(recorded, name)
        if mine and theirs and not same(name, mine, theirs):
            raise UsageError(
                f"--facts-in: {saved.path} records the {name} {theirs}, but this run judges {mine}",
                "replay facts only for what they were read for: drop the flag, or run the gate live on "
                f"this {name} (the {name} comes from flags, the policy's target: or the CI environment)",
            )
    filled = {name: getattr(given, name) for name in FIELDS if not getattr(recorded, name)}
    judged = replace(recorded, **{k: v for k, v in filled.items() if v})
    _facts_agree(saved, judged)
    return judged


def _read_for(value: Any) -> tuple[tuple[str, str], ...]:
    """(target field, value) pairs naming what a fact was read for: the platform facts their repository and
    commit, the MLflow facts their model, the image facts their reference."""
    from mlops_gate.facts.mlflow_registry import MlflowModel  # here: a run judging files needs neither type
    from mlops_gate.facts.oci import ImageFacts

    if isinstance(value, MlflowModel):
        return (("model", value.model),)
    if isinstance(value, ImageFacts):
        return (("image", value.ref),)
    if all(hasattr(value, a) for a in ("platform", "repository")):  # the platform facts
        return (
            ("platform", value.platform),
            ("repository", value.repository),
            ("commit", str(getattr(value, "sha", "") or "")),
        )
    return ()


def _facts_agree(saved: Saved, judged: Target) -> None:
    """Each fact that names what it was read for (the runs of commit X, the image Y) names the judged
    target: a facts file whose `target` alone was edited to another commit is refused."""
    for kind, record in sorted(saved.records.items()):
        for name, value in _read_for(record.value):
            wanted = getattr(judged, name)
            if value and wanted and not same(name, value, wanted):
                raise UsageError(
                    f"--facts-in: {saved.path}: facts.{kind} were read for the {name} {value}, "
                    f"not the {name} judged ({wanted})",
                    "the facts file was edited or assembled from several runs: collect it again",
                )


def same(name: str, a: str, b: str) -> bool:
    if name == "commit":  # an abbreviated SHA names the same commit
        a, b = a.lower(), b.lower()
        return a == b or (min(len(a), len(b)) >= 7 and (a.startswith(b) or b.startswith(a)))
    if name == "image":  # the same digest under another tag is the same image
        (na, _, da), (nb, _, db) = a.partition("@"), b.partition("@")
        return a == b or (bool(da) and da == db and _untagged(na) == _untagged(nb))
    return a == b


def _untagged(name: str) -> str:
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
