"""release.traceability: one chain from the gated commit to the model, the image and its provenance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mlops_gate.checks import _keyless
from mlops_gate.checks import _oci_verify as v
from mlops_gate.checks._fulcio import Signer
from mlops_gate.checks.ci_runs import attempts, names, reporter
from mlops_gate.checks.image_provenance import verified_statements
from mlops_gate.checks.image_remote import REVISION
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.oci import ImageFacts
from mlops_gate.facts.platform import CommitRuns
from mlops_gate.lang import slsa
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target

GIT_COMMIT_TAG = "mlflow.source.git.commit"


@dataclass(frozen=True)
class Params:
    """The params of release.traceability.

    keys: the public keys that sign the image's provenance (as image.provenance's keys).
        e.g. [cosign.pub]
    required: CI run names that must have succeeded on the commit; empty means every run on it, at least one.
        e.g. [test, build]
    revision_label: the image label that must be the gated commit.
        e.g. org.opencontainers.image.revision
    signers: keyless signers of the image's provenance, as image.provenance's signers.
        e.g. [{issuer: "https://token.actions.githubusercontent.com", workflows: ["https://github.com/acme/app/*"]}]
    trusted_roots: Sigstore trusted root files those signatures must chain to, as image.provenance's.
        e.g. [sigstore/trusted_root.json]
    """

    keys: tuple[str, ...] = ()  # the keys that sign provenance (as image.provenance's `keys`)
    required: tuple[str, ...] = ()  # CI run names; empty: every run on the commit, at least one
    revision_label: str = REVISION
    signers: tuple[Signer, ...] = ()  # keyless provenance signers (as image.provenance's `signers`)
    trusted_roots: tuple[str, ...] = ()


def _scope(params: Params, target: Target) -> Mapping[str, tuple[str, ...]]:
    items = v.key_scope(params.keys, "labels", "attestations")["oci_image"]
    return {"oci_image": (*items, *_keyless.scope(params.signers, params.trusted_roots, target))}


@check(
    "release.traceability",
    title="Commit, model, image and provenance trace to one another",
    severity=Severity.HIGH,
    needs=("oci_image", "mlflow_model", "commit_runs"),
    params=Params,
    requires_target=("commit", "model", "image", "platform", "repository"),
    scope=_scope,
)
def traceability(facts: Facts, params: Params, target: Target) -> Iterator[Outcome]:
    """One chain for the release: the gated commit = the MLflow run's `mlflow.source.git.commit` = the
    image's revision label = the source commit of its signed provenance, and CI passed on that commit.

    Each link that is missing or differs is named. Every source must be configured (`--commit`,
    `--model`, `--image`, `--platform`/`--repository`): a link that cannot be read is an error, never
    skipped. Provenance counts only when it is SLSA provenance whose subject is the image digest, signed with
    `keys` or by one of the keyless `signers` (`image.provenance` judges the builder); its source commit is
    the statement's for a key, and the certificate's source repository and commit (Fulcio 1.12/1.13) for a
    keyless signer — what the signing workflow ran on, not what the statement claims. `required` names the
    CI runs that must have succeeded (latest attempt); empty means every run reported on the commit, and at
    least one.
    """
    img = facts.oci_image
    model = facts.mlflow_model
    runs = facts.commit_runs
    commit = target.commit or ""
    links: list[tuple[str, str | None, str]] = []  # (link, problem or None, evidence)
    unknown: list[str] = []

    run = model.run
    if run is None:
        unknown.append(f"the MLflow run of {model.model} was not read: {'; '.join(model.notes) or 'no run'}")
    else:
        got = run.tags.get(GIT_COMMIT_TAG, "")
        links.append(_link(f"MLflow run {run.run_id} commit", got, commit, f"{GIT_COMMIT_TAG} is not set"))

    if img.labels is None or img.attestations is None:
        unknown.append(f"the labels/attestations of {img.ref} were not collected")
    else:
        revs = [lab for lab in img.labels if lab.key == params.revision_label]
        if not revs:
            links.append(_link("image revision label", "", commit, f"{params.revision_label} is missing"))
        for lab in revs:
            links.append(_link(f"image revision label ({lab.source})", lab.value, commit, ""))
        links.append(_provenance_link(img, params, target))

    links.append(_runs_link(runs, params, commit))
    violations = tuple(Violation(f"{name}: {problem}") for name, problem, _ in links if problem)
    evidence = tuple(ev for _, _, ev in links) + img.notes + runs.notes
    subject = f"release:{target.release or commit[:12]}"
    held = sum(1 for _, problem, _ in links if problem is None)
    if violations:
        yield Outcome(
            subject, f"{len(violations)} broken link(s) in the chain from {commit[:12]}", violations, evidence
        )
    elif unknown:
        yield Outcome(subject, "the chain cannot be verified", evidence=evidence, error="; ".join(unknown))
    else:
        yield Outcome(
            subject,
            f"commit {commit[:12]} = MLflow run = image revision = provenance source; CI passed ({held} links hold)",
            evidence=evidence,
        )


def _link(name: str, got: str, want: str, missing: str) -> tuple[str, str | None, str]:
    if not got:
        return name, missing or "not set", f"{name}: (none)"
    problem = None if slsa.same_commit(got, want) else f"{got}, not the gated commit {want}"
    return name, problem, f"{name}: {got}"


def _provenance_link(img: ImageFacts, params: Params, target: Target) -> tuple[str, str | None, str]:
    name = "provenance source commit"
    if not params.keys and not params.signers:
        return (
            name,
            "no keys or signers to verify provenance: set checks.release.traceability.params.keys or .signers",
            f"{name}: unverified",
        )
    keys, problems = v.keys_of(params.keys, img.keys)
    keyless = _keyless.setup(
        "release.traceability", params.signers, params.trusted_roots, img, target, bind_commit=False
    )
    if keyless is not None and keyless.problems:
        return name, "cannot verify keyless provenance: " + "; ".join(keyless.problems), f"{name}: unverified"
    commits, reasons = [], list(problems)
    host = slsa.platform_host(target.platform, target.api_url)
    for f in verified_statements(img, keys, keyless):
        if f.statement is None or f.statement.predicate_type not in (slsa.SLSA_V1, slsa.SLSA_V02):
            reasons.append(f"{f.where}: {f.by if f.statement is None else 'not SLSA provenance'}")
        elif f.claims is not None:  # keyless: the certificate's source (its repository is bound already)
            commits += [f.claims.commit] if f.claims.commit else []
        else:
            commits += [c for u, c in f.statement.sources if slsa.same_repo(u, target.repository or "", host) and c]
    if not commits:
        return (
            name,
            "no verified provenance names a commit of "
            + (target.repository or "")
            + (f" ({'; '.join(reasons)})" if reasons else ""),
            f"{name}: (none)",
        )
    commit = target.commit or ""
    if any(slsa.same_commit(c, commit) for c in commits):
        return name, None, f"{name}: {commit}"
    return name, f"{', '.join(sorted(set(commits)))}, not the gated commit {commit}", f"{name}: {commits[0]}"


def _runs_link(runs: CommitRuns, params: Params, commit: str) -> tuple[str, str | None, str]:
    name = "CI runs"
    if not slsa.same_commit(runs.sha, commit):
        return name, f"read for {runs.sha}, not {commit}", f"{name}: on {runs.sha}"
    required = list(params.required) or names(runs.runs)
    if not required:
        return name, f"no CI run reported on {commit}", f"{name}: none"
    failed = []
    for n in required:  # each reporter of the name (the check runs of each app, the statuses) must pass
        found = attempts(runs.runs, n)
        failed += [f"{n} missing"] if not found else []
        failed += [
            f"{n} {r.conclusion or r.status}" + (f" ({reporter(r)})" if len(found) > 1 else "")
            for r in found
            if r.conclusion != "success"
        ]
    evidence = f"{name}: {', '.join(required)}"
    return name, ("not passed: " + ", ".join(failed)) if failed else None, evidence
