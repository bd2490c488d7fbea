"""image checks: base images and deployed images pinned by digest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_gate.checks._common import file_subject, glob_match, repo_subject, unread
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.lang import dockerfile, manifests
from mlops_gate.lang.source import error_loc, loc, problem
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target

if TYPE_CHECKING:  # the type alone: a files-only run reads no image
    from mlops_gate.facts.oci import ImageFacts

PIN_HINT = "pin it as name@sha256:<digest> (`docker buildx imagetools inspect NAME:TAG` prints the digest)"


@dataclass(frozen=True)
class PinParams:  # both pinning checks: the same exemptions
    """The params of image.base-pinned and image.digest-pinned.

    allow: globs over image references that need no digest.
        e.g. ["registry.internal/base/*"]
    """

    allow: tuple[str, ...] = ()  # globs over image references that need no digest


@check(
    "image.base-pinned",
    title="Dockerfile base images are pinned by digest",
    severity=Severity.MEDIUM,
    needs=("dockerfiles",),
    params=PinParams,
)
def base_pinned(facts: Facts, params: PinParams, target: Target) -> Iterator[Outcome]:
    """Every image a Dockerfile builds from is pinned by digest, so a rebuild gets the same bytes.

    Passes when every image a Dockerfile/Containerfile pulls is named `name@sha256:<64 hex>` (a tag may
    precede the digest: `python:3.12@sha256:...`): each `FROM`, `COPY --from=<image>`,
    `RUN --mount=...,from=<image>`, and the BuildKit frontend a `# syntax=` directive names (it parses
    the file and runs in the build; pin it too, or `allow` it). The file is read as BuildKit reads it:
    parser directives, `# escape=`, line continuations, comments, a UTF-8 BOM, and heredocs (only where a
    word starts with `<<`, so `echo "<<EOF"` hides nothing). Multi-stage builds are understood:
    `FROM builder` naming an earlier `AS builder` stage, and `FROM scratch`, pull nothing. `ARG`s declared
    before the first `FROM` are substituted with their defaults (`$BASE`, `${BASE}`,
    `${BASE:-python:3.12@sha256:...}`); an image whose build arg has no default, or that uses an expansion
    the gate does not evaluate (`${BASE%...}`), cannot be verified and fails (it is pinned only by whatever
    `--build-arg` CI passes). A Dockerfile BuildKit would refuse fails too, and one the gate cannot read
    (too large, not UTF-8, a link out of the repository) is an error.

    One result per Dockerfile (subject `file:<path>`), so a waiver can cover one file. A repository
    without any Dockerfile passes, saying there is nothing to pin.

    Params: `allow` - globs over image references exempted (e.g. `registry.internal/base/*`).

    Fix: replace `FROM python:3.12-slim` with `FROM python:3.12-slim@sha256:<digest>`; let Renovate or
    Dependabot keep the digest current.
    """
    files = facts.dockerfiles
    if not files.files:
        yield Outcome(repo_subject(target, files), "no Dockerfile found; no base image to pin")
        return
    for f in files.files:
        yield _dockerfile_outcome(f, params)


def _dockerfile_outcome(f: SourceFile, params: PinParams) -> Outcome:
    if f.error or f.text is None:
        return Outcome(file_subject(f), f"cannot judge {f.path}", error=f"{f.path}: {problem(f)}")
    uses, froms, refused = dockerfile.image_uses(f.text)
    violations: list[Violation] = []
    evidence = []
    if refused:
        violations.append(
            Violation(f"BuildKit refuses this Dockerfile ({refused}); what follows was not read", Location(f.path, 1))
        )
    if not froms:
        violations.append(Violation("no FROM instruction: not a buildable Dockerfile", Location(f.path, 1)))
    for use in uses:
        where = Location(f.path, use.line)
        if use.ref is None:
            violations.append(Violation(f"{use.instruction} {use.written}: cannot resolve ({use.unresolved})", where))
        elif dockerfile.is_digest_pinned(use.ref) or glob_match(use.ref, params.allow):
            evidence.append(f"{f.path}:{use.line} {use.instruction} {use.ref}")
        else:
            shown = use.ref if use.ref == use.written else f"{use.written} (= {use.ref})"
            violations.append(Violation(f"{use.instruction} {shown} is not pinned by digest; {PIN_HINT}", where))
    message = (
        f"BuildKit refuses it: {refused}"
        if refused
        else f"{len(evidence)} of {len(uses)} images pinned by digest"
        if uses and violations
        else f"all {len(uses)} images pinned by digest"
        if uses
        else "no FROM instruction"
        if not froms
        else "no external image (only scratch or earlier stages)"
    )
    return Outcome(file_subject(f), message, tuple(violations), tuple(evidence))


@check(
    "image.digest-pinned",
    title="Deployed images are referenced by digest",
    severity=Severity.HIGH,
    needs=("deploy_manifests", "oci_image"),  # oci_image costs nothing without a target image
    params=PinParams,
)
def digest_pinned(facts: Facts, params: PinParams, target: Target) -> Iterator[Outcome]:
    """Release and deploy manifests reference container images by digest, never by a movable tag.

    Reads the deploy manifests found in the repository (YAML, or JSON naming `apiVersion` and `kind`):
    - Kubernetes workloads (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, ...): every
      `image` of `containers`, `initContainers` and `ephemeralContainers`, in pod templates too;
      any other `image:` string of a manifest (CRDs, Argo, Tekton) is held to the same rule, and so is
      each image volume (`image: {reference: ...}`);
    - KServe InferenceService / ServingRuntime: `containers[].image` and the `image` of predictor,
      transformer and explainer components (`storageUri` is a model location, not an image);
    - Helm values files: `image: "ref"` and `image: {registry, repository, tag, digest}` anywhere in
      the tree (a non-empty `digest`, or a tag ending in `@sha256:...`, pins it);
    - docker-compose files: `services.*.image` (a service with `build:` names the image it builds);
    - kustomize (`kustomization.yaml`): each `images:` entry as it rewrites the resources (a `digest` pins;
      a `newTag` without one replaces the tag and the digest, and fails), the images inline patches and
      JSON patch files set, and `replacements` that write an image (they cannot be known: fail);
    - Helm templates (`templates/` of a chart): parsed as YAML when they are; else each literal `image:`
      value, line by line (it is rendered as written).
    A reference pins when it ends in `@sha256:<64 hex>`. Templated values (`{{ ... }}`) are left to the
    values file; `${VAR}` interpolation cannot be verified and fails.

    One result per file with image references (subject `file:<path>`). No reference at all passes,
    saying so. A YAML file the gate cannot read or parse (larger than 1 MiB, not UTF-8, a link out of the
    repository, an alias bomb, a Git LFS pointer, ...) fails, naming the file: any YAML file could be a
    manifest; so does a JSON file in UTF-16/32 (kubectl reads it) or an LFS pointer.
    Params: `allow` - globs over image references exempted.

    With a target image (`--image` or `target.image`), the image is resolved in its registry (subject
    `oci:registry/repo@sha256:...`, the index digest for a multi-arch image): a reference by digest
    passes when the registry serves that digest; a reference by tag fails, naming the digest it
    resolves to now (a tag can move between the gate and the deploy). Without one, only the files
    are judged, and no registry is contacted.

    Fix: deploy `registry/app@sha256:<digest>` (CI knows the digest it pushed: `docker buildx build
    --push --metadata-file`, or `crane digest`); in Helm values set `image.digest`.
    """
    files = facts.deploy_manifests
    outcomes = list(_manifest_outcomes(files, params))
    image = facts.oci_image
    if image.ref:
        outcomes.append(_target_outcome(image, params))
    if not outcomes:
        yield Outcome(repo_subject(target, files), f"no image reference found in {len(files.files)} deploy manifests")
        return
    yield from outcomes


def _target_outcome(image: ImageFacts, params: PinParams) -> Outcome:
    kind = f"{image.media_type}, {len(image.platforms)} manifests" if image.platforms else image.media_type
    evidence = (
        f"{image.ref} resolves to {image.digest} ({kind})",
        *(f"{p.platform}: {p.digest}" for p in image.platforms),
        *image.notes,
    )
    if image.pinned or glob_match(image.ref, params.allow):
        return Outcome(image.subject, f"target image resolves to {image.digest}", evidence=evidence)
    return Outcome(
        image.subject,
        f"target image is referenced by tag {image.tag or 'latest'}",
        (
            Violation(
                f"target image {image.ref} is a tag; it resolves to {image.digest} now: gate and deploy "
                f"{image.registry}/{image.repository}@{image.digest}"
            ),
        ),
        evidence,
    )


def _manifest_outcomes(files: RepoFiles, params: PinParams) -> Iterator[Outcome]:
    for f in files.files:
        if f.error:
            yield unread(f) or Outcome(
                file_subject(f),
                f"cannot parse {f.path}",
                (Violation(f"cannot parse: {f.error}", error_loc(f)),),
            )
            continue
        template = f.text if f.format == manifests.TEMPLATE else None
        refs = list(manifests.refs(f.path.rsplit("/", 1)[-1].lower(), f.documents, template))
        if not refs:
            continue
        violations, evidence = [], []
        for r in refs:
            where = Location(f.path, r.line) if r.line is not None else loc(f, *r.path, doc=r.doc)
            problem = f"cannot be judged: it {r.unknown}" if r.unknown else _problem(r.ref, params)
            if problem:
                note = f" ({r.note})" if r.note else ""
                violations.append(Violation(f"image {r.ref} {problem}{note}", where))
            else:
                evidence.append(f"{f.path}:{r.line if r.line is not None else '/'.join(map(str, r.path))} {r.ref}")
        message = (
            f"{len(refs) - len(violations)} of {len(refs)} image references pinned by digest"
            if violations
            else f"all {len(refs)} image references pinned by digest"
        )
        yield Outcome(file_subject(f), message, tuple(violations), tuple(evidence))


def _problem(ref: str, params: PinParams) -> str | None:
    if dockerfile.is_digest_pinned(ref) or glob_match(ref, params.allow):
        return None
    if "${" in ref or "$(" in ref:
        return "is interpolated from a variable; the digest cannot be verified: write it in the file"
    return "is not pinned by digest; deploy name@sha256:<digest>"
