"""Keyless image.signature / image.provenance / release.traceability over hand-built facts signed by a self-made
Sigstore instance (tests/support/sigstore_instance.py): each shape the gate reads — cosign's classic `.sig` and
`.att` layers (Rekor SET), cosign v3 bundles (DSSE sign/v1, message signature; inclusion proof, through
sigstore-python), and GitHub-instance bundles (RFC 3161 only) — passes, and each negative twin (another
repository, workflow, issuer, commit, digest, trust root, one byte changed, ...) fails for its stated reason."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import subprocess
import sys
from typing import Any

import pytest

from mlops_gate.checks._fulcio import Signer
from mlops_gate.checks.image_provenance import ProvenanceParams, provenance
from mlops_gate.checks.image_signature import SignatureParams, signature
from mlops_gate.checks.release import Params as ReleaseParams
from mlops_gate.checks.release import traceability
from mlops_gate.facts import Facts
from mlops_gate.facts.mlflow_registry import MlflowModel, RunFacts
from mlops_gate.facts.oci import (
    Attestation,
    DsseSignature,
    ImageFacts,
    Label,
    Signature,
    SigstoreBundle,
    TrustedRootFile,
)
from mlops_gate.facts.platform import CommitRuns, Run
from mlops_gate.model import Outcome
from mlops_gate.target import Target
from tests.support.oci_registry import COMMIT, OTHER_COMMIT, REPO, simple_signing, slsa_v1
from tests.support.sigstore_instance import GITHUB_ISSUER, Identity, Instance, sign_v1

MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
D = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
OTHER_D = "sha256:" + "2" * 64
TARGET = Target(image=f"registry.example/ml/churn@{D}", repository=REPO, commit=COMMIT, platform="github")
WORKFLOWS = ("https://github.com/acme/churn/.github/workflows/release.yml@refs/tags/*",)
SIGNER = Signer(GITHUB_ISSUER, WORKFLOWS)
ROOT_FILE = "sigstore/trusted_root.json"
ATTEST_BUILDER = "https://github.com/actions/runner/github-hosted"
INST, OTHER = Instance("test"), Instance("other")
ME = Identity()  # the gated repository's release workflow
LOOK_ALIKE = Instance("test")  # the same CA names as INST, other keys


def root(inst: Instance = INST, **kw: Any) -> TrustedRootFile:
    return TrustedRootFile(ROOT_FILE, json.dumps(inst.trusted_root(**kw)), "test")


def image(
    *,
    sigs: tuple[Signature, ...] = (),
    atts: tuple[Attestation, ...] = (),
    bundles: tuple[str, ...] = (),
    roots: tuple[TrustedRootFile, ...] | None = None,
) -> ImageFacts:
    return ImageFacts(
        ref=TARGET.image or "",
        registry="registry.example",
        repository="ml/churn",
        digest=D,
        labels=(Label("org.opencontainers.image.revision", COMMIT, "config label"),),
        signatures=sigs,
        attestations=atts,
        bundles=tuple(SigstoreBundle(f"referrer sha256:{i}", b) for i, b in enumerate(bundles)),
        trusted_roots=(root(),) if roots is None else roots,
    )


def classic_sig(payload: bytes, who: Identity = ME, inst: Instance = INST) -> Signature:
    ann = inst.classic_sig(payload, who)
    return Signature(
        "tag sha256-1.sig",
        "sha256:" + "9" * 64,
        "sha256:" + "8" * 64,
        base64.b64encode(payload).decode(),
        ann["dev.cosignproject.cosign/signature"],
        ann["dev.sigstore.cosign/certificate"],
        ann["dev.sigstore.cosign/chain"],
        ann["dev.sigstore.cosign/bundle"],
    )


def classic_att(statement: bytes, who: Identity = ME, inst: Instance = INST) -> Attestation:
    blob, ann = inst.classic_att(statement, who)
    env = json.loads(blob)
    return Attestation(
        "tag sha256-1.att",
        "sha256:" + "7" * 64,
        "sha256:" + "6" * 64,
        env["payloadType"],
        env["payload"],
        tuple(DsseSignature(s["sig"], s["keyid"]) for s in env["signatures"]),
        ann["predicateType"],
        ann["dev.sigstore.cosign/certificate"],
        None,
        ann["dev.sigstore.cosign/chain"],
        ann["dev.sigstore.cosign/bundle"],
    )


def one(outcomes: Any) -> Outcome:
    got = list(outcomes)
    assert len(got) == 1, got
    return got[0]


def status(o: Outcome) -> str:
    return "error" if o.error else "failed" if o.violations else "passed"


def texts(o: Outcome) -> str:
    return " | ".join(v.message for v in o.violations)


SIG_PARAMS = SignatureParams(signers=(SIGNER,), trusted_roots=(ROOT_FILE,))
PROV_PARAMS = ProvenanceParams(
    builder_ids=(ATTEST_BUILDER, "https://github.com/acme/*"), signers=(SIGNER,), trusted_roots=(ROOT_FILE,)
)


# --- image.signature: four shapes, each with its twins ------------------------------------------------


def signed_image(
    shape: str, who: Identity = ME, *, digest: str = D, trusted: Instance = INST, flip: bool = False
) -> ImageFacts:
    """The image with one keyless signature of `shape` binding `digest`, signed by INST and judged with the
    trusted root of `trusted` (`flip`: one byte changed)."""
    inst = INST
    if shape == "classic .sig":
        payload = bytearray(simple_signing(digest, "registry.example/ml/churn"))
        s = classic_sig(bytes(payload), who, inst)
        if flip:
            payload[20] ^= 1
            s = dataclasses.replace(s, payload=base64.b64encode(bytes(payload)).decode())
        return image(sigs=(s,), roots=(root(trusted),))
    if shape == "message bundle":
        bundle = inst.message_bundle(MANIFEST if digest == D else b"another manifest", who)
        if flip:
            raw = bytearray(base64.b64decode(bundle["messageSignature"]["signature"]))
            raw[-1] ^= 1
            bundle["messageSignature"]["signature"] = base64.b64encode(bytes(raw)).decode()
        return image(bundles=(json.dumps(bundle),), roots=(root(trusted),))
    github = shape == "github-instance bundle"
    bundle = inst.dsse_bundle(sign_v1(digest), who, log=not github, stamp=github, sct=not github)
    if flip:
        raw = bytearray(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        raw[len(raw) // 2] ^= 1
        bundle["dsseEnvelope"]["payload"] = base64.b64encode(bytes(raw)).decode()
    roots = (root(trusted, tlogs=False, ctlogs=False, keys_present=False),) if github else (root(trusted),)
    return image(bundles=(json.dumps(bundle),), roots=roots)


SHAPES = ("classic .sig", "v3 sign/v1 bundle", "message bundle", "github-instance bundle")


@pytest.mark.parametrize("shape", SHAPES)
def test_keyless_signature_passes(shape: str) -> None:
    o = one(signature(Facts({"oci_image": signed_image(shape)}), SIG_PARAMS, TARGET))
    assert status(o) == "passed", (o.message, o.evidence)
    assert "keyless https://github.com/acme/churn/.github/workflows/release.yml@refs/tags/v1.0.0" in o.message
    assert (f"binds {D}" in o.message) or (f"signs {D}" in o.message)


TWINS: dict[str, tuple[dict[str, Any], str]] = {
    "another repository": (
        {"who": Identity(repo="https://github.com/evil/fork")},
        "built from https://github.com/evil/fork (1.12), not the gated repository acme/churn",
    ),
    "another workflow": (
        {"who": Identity(workflow="https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/main")},
        "which matches none of workflows",
    ),
    "another issuer": (
        {"who": Identity(issuer="https://token.actions.githubusercontent.com/evil")},
        "issuer https://token.actions.githubusercontent.com/evil is not https://token.actions.githubusercontent.com",
    ),
    "another commit": (
        {"who": Identity(commit=OTHER_COMMIT)},
        f"built from commit {OTHER_COMMIT}, not the gated commit {COMMIT}",
    ),
    "another digest": ({"digest": OTHER_D}, ""),
    "another trust root": ({"trusted": OTHER}, "no Fulcio CA of the trusted roots"),
    "one byte changed": ({"flip": True}, ""),
    "a self-hosted runner": (
        {"who": Identity(runner="self-hosted")},
        "runner environment self-hosted is not github-hosted or gitlab-hosted",
    ),
    "a certificate before 1.12": (
        {"who": Identity(v2_extensions=False)},
        "names no source repository (Fulcio extension 1.12",
    ),
}
DIGEST_REASON = {"classic .sig": f"not {D} (a signature copied", "message bundle": "message digest mismatch"}
FLIP_REASON = {
    "classic .sig": "the Rekor entry logs another payload",
    "message bundle": "invalid",
    "github-instance bundle": "the DSSE signature does not verify",
}


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("shape", SHAPES)
def test_keyless_signature_twins_fail_for_their_reason(shape: str, twin: str) -> None:
    kw, reason = TWINS[twin]
    reason = reason or (DIGEST_REASON if twin == "another digest" else FLIP_REASON).get(shape, "")
    o = one(signature(Facts({"oci_image": signed_image(shape, **kw)}), SIG_PARAMS, TARGET))
    assert status(o) == "failed", (o.message, o.evidence)
    if twin == "another digest" and shape in ("v3 sign/v1 bundle", "github-instance bundle"):
        reason = f"signs sha256:{OTHER_D.split(':')[1]}, not {D}"
    if twin == "one byte changed" and shape == "v3 sign/v1 bundle":
        reason = "keyless: DSSE: invalid signature"  # sigstore-python's words
    assert reason in texts(o), texts(o)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_look_alike_ca_with_the_same_names_and_other_keys_fails(shape: str) -> None:
    o = one(signature(Facts({"oci_image": signed_image(shape, trusted=LOOK_ALIKE)}), SIG_PARAMS, TARGET))
    assert status(o) == "failed", o.evidence
    expected = {  # the first look-alike part each path meets: the log, the timestamp authority, or the CA
        "classic .sig": "keyless: the Rekor log",
        "github-instance bundle": "keyless: no timestamp authority of sigstore/trusted_root.json signed this timestamp",
    }
    reason = texts(o)
    assert expected.get(shape, "chain") in reason, reason


def test_a_v3_attestation_bundle_is_not_a_signature() -> None:
    img = image(bundles=(json.dumps(INST.dsse_bundle(slsa_v1(D))),))
    o = one(signature(Facts({"oci_image": img}), SIG_PARAMS, TARGET))
    assert status(o) == "failed" and "an attestation (https://slsa.dev/provenance/v1), not a cosign signature" in texts(
        o
    )


def test_any_of_several_signers_and_roots_as_json_lines() -> None:
    lines = json.dumps(OTHER.trusted_root()) + "\n" + json.dumps(INST.trusted_root()) + "\n"
    img = dataclasses.replace(signed_image("classic .sig"), trusted_roots=(TrustedRootFile(ROOT_FILE, lines, "test"),))
    params = dataclasses.replace(SIG_PARAMS, signers=(Signer("https://gitlab.com", ("*",)), SIGNER))
    assert status(one(signature(Facts({"oci_image": img}), params, TARGET))) == "passed"


def test_gitlab_signer_with_its_hosted_runner() -> None:
    who = Identity(
        repo="https://gitlab.com/group/proj",
        workflow="https://gitlab.com/group/proj//.gitlab-ci.yml@refs/heads/main",
        issuer="https://gitlab.com",
        runner="gitlab-hosted",
        ref="refs/heads/main",
    )
    target = dataclasses.replace(TARGET, repository="group/proj", platform="gitlab")
    params = dataclasses.replace(
        SIG_PARAMS,
        signers=(
            Signer(
                "https://gitlab.com",
                ("https://gitlab.com/group/proj//.gitlab-ci.yml@refs/heads/main",),
                source_ref="refs/heads/main",
            ),
        ),
    )
    assert status(one(signature(Facts({"oci_image": signed_image("classic .sig", who)}), params, target))) == "passed"
    o = one(
        signature(
            Facts({"oci_image": signed_image("classic .sig", dataclasses.replace(who, runner="self-hosted"))}),
            params,
            target,
        )
    )
    assert "runner environment self-hosted is not github-hosted or gitlab-hosted" in texts(o)
    o = one(
        signature(
            Facts({"oci_image": signed_image("classic .sig", who)}),
            params,
            dataclasses.replace(target, platform="github", repository="group/proj"),
        )
    )
    assert "not the gated repository group/proj" in texts(o)  # gitlab.com is not the host of a GitHub repository


def test_source_ref_is_a_glob_over_1_14() -> None:
    params = dataclasses.replace(SIG_PARAMS, signers=(dataclasses.replace(SIGNER, source_ref="refs/heads/main"),))
    o = one(signature(Facts({"oci_image": signed_image("classic .sig")}), params, TARGET))
    assert "source ref refs/tags/v1.0.0 does not match refs/heads/main" in texts(o)


@pytest.mark.parametrize(
    ("signer", "error"),
    [
        (
            Signer("", WORKFLOWS),
            "signers[0].issuer is empty: name the OIDC issuer exactly (an empty issuer is never 'any')",
        ),
        (Signer(GITHUB_ISSUER, ()), "signers[0].workflows is empty"),
        (Signer(GITHUB_ISSUER, WORKFLOWS, runner=""), "signers[0].runner is empty"),
    ],
)
def test_signer_configuration_errors_are_errors_never_passes(signer: Signer, error: str) -> None:
    o = one(
        signature(
            Facts({"oci_image": signed_image("classic .sig")}),
            dataclasses.replace(SIG_PARAMS, signers=(signer,)),
            TARGET,
        )
    )
    assert status(o) == "error" and error in (o.error or "")


def test_unreadable_or_malformed_trusted_root_is_an_error() -> None:
    for got, error in (
        (
            TrustedRootFile(ROOT_FILE, error="cannot read trusted root file sigstore/trusted_root.json"),
            "cannot read trusted root file",
        ),
        (TrustedRootFile(ROOT_FILE, '{"mediaType": "something else"}', "test"), "is not a Sigstore trusted root"),
        (TrustedRootFile("elsewhere.json", "{}", "test"), "trusted root sigstore/trusted_root.json was not read"),
    ):
        img = dataclasses.replace(signed_image("classic .sig"), trusted_roots=(got,))
        o = one(signature(Facts({"oci_image": img}), SIG_PARAMS, TARGET))
        assert status(o) == "error" and error in (o.error or ""), o.error


def test_keyless_without_a_repository_is_an_error() -> None:
    o = one(
        signature(
            Facts({"oci_image": signed_image("classic .sig")}), SIG_PARAMS, dataclasses.replace(TARGET, repository=None)
        )
    )
    assert status(o) == "error" and "set --repository" in (o.error or "")


def test_without_the_sigstore_extra_keyless_signers_are_an_error_naming_it() -> None:
    code = (
        "import sys; sys.modules['sigstore'] = None\n"  # what an environment without the extra gives: ImportError
        "from tests.checks.test_keyless import *\n"
        "o = one(signature(Facts({'oci_image': signed_image('classic .sig')}), SIG_PARAMS, TARGET))\n"
        "print(status(o)); print(o.error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.startswith("error\nkeyless signers need the sigstore extra: pip install 'mlops-gate[sigstore]'"), out


# --- image.provenance ---------------------------------------------------------------------------------


def provenance_image(shape: str, statement: bytes, who: Identity = ME, inst: Instance = INST) -> ImageFacts:
    if shape == "classic .att":
        return image(atts=(classic_att(statement, who, inst),))
    github = shape == "github-instance bundle"
    bundle = inst.dsse_bundle(statement, who, log=not github, stamp=github, sct=not github)
    roots = (root(inst, tlogs=False, ctlogs=False, keys_present=False),) if github else None
    return image(bundles=(json.dumps(bundle),), roots=roots)


PROV_SHAPES = ("classic .att", "v3 attestation bundle", "github-instance bundle")


@pytest.mark.parametrize("shape", PROV_SHAPES)
def test_keyless_provenance_passes(shape: str) -> None:
    img = provenance_image(shape, slsa_v1(D, builder=ATTEST_BUILDER))
    o = one(provenance(Facts({"oci_image": img}), PROV_PARAMS, TARGET))
    assert status(o) == "passed", (o.message, o.evidence)
    assert o.message.startswith("verified SLSA provenance keyless https://github.com/acme/churn/")


@pytest.mark.parametrize("shape", PROV_SHAPES)
@pytest.mark.parametrize(
    ("twin", "statement", "who", "reason"),
    [
        (
            "another repository",
            {},
            Identity(repo="https://github.com/evil/fork"),
            "not the gated repository acme/churn",
        ),
        (
            "another commit",
            {},
            Identity(commit=OTHER_COMMIT),
            f"built from commit {OTHER_COMMIT}, not the gated commit",
        ),
        ("another issuer", {}, Identity(issuer="https://gitlab.com"), "issuer https://gitlab.com is not"),
        ("another digest", {"digest": OTHER_D}, Identity(), f"its subject is {OTHER_D}, not {D}"),
        (
            "another builder",
            {"builder": "https://evil.example/builder"},
            Identity(),
            "builder https://evil.example/builder is not in builder_ids",
        ),
        (
            "a cosign v3 signature",
            {"sign_v1": True},
            Identity(),
            "predicate 'https://sigstore.dev/cosign/sign/v1' is not SLSA provenance",
        ),
    ],
)
def test_keyless_provenance_twins(shape: str, twin: str, statement: dict[str, Any], who: Identity, reason: str) -> None:
    digest = statement.get("digest", D)
    body = sign_v1(D) if statement.get("sign_v1") else slsa_v1(digest, builder=statement.get("builder", ATTEST_BUILDER))
    o = one(provenance(Facts({"oci_image": provenance_image(shape, body, who)}), PROV_PARAMS, TARGET))
    assert status(o) == "failed" and reason in texts(o), texts(o)


def test_a_keyless_attestation_without_signers_configured_says_how() -> None:
    img = provenance_image("classic .att", slsa_v1(D, builder=ATTEST_BUILDER))
    params = ProvenanceParams(
        keys=("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAAAA\n-----END PUBLIC KEY-----\n",),
        builder_ids=(ATTEST_BUILDER,),
    )
    o = one(provenance(Facts({"oci_image": img}), params, TARGET))
    assert status(o) != "passed"


# --- release.traceability -----------------------------------------------------------------------------


def release_facts(img: ImageFacts) -> Facts:
    run = RunFacts("r1", tags={"mlflow.source.git.commit": COMMIT})
    model = MlflowModel("http://mlflow.example", "churn@1", run=run)
    runs = CommitRuns("github", REPO, COMMIT, (Run("test", "completed", "success", "check-run"),))
    return Facts({"oci_image": img, "mlflow_model": model, "commit_runs": runs})


def test_release_uses_the_certificates_commit_for_keyless_provenance() -> None:
    params = ReleaseParams(signers=(SIGNER,), trusted_roots=(ROOT_FILE,), required=("test",))
    target = dataclasses.replace(TARGET, model="churn@1")
    # the statement claims another commit; the certificate (what the workflow ran on) is the gated one
    img = provenance_image("classic .att", slsa_v1(D, builder=ATTEST_BUILDER, commit=OTHER_COMMIT))
    o = one(traceability(release_facts(img), params, target))
    assert status(o) == "passed", (texts(o), o.error, o.evidence)
    assert f"provenance source commit: {COMMIT}" in o.evidence
    img = provenance_image("classic .att", slsa_v1(D, builder=ATTEST_BUILDER), Identity(commit=OTHER_COMMIT))
    o = one(traceability(release_facts(img), params, target))
    assert f"provenance source commit: {OTHER_COMMIT}, not the gated commit {COMMIT}" in texts(o)
    img = provenance_image("classic .att", sign_v1(D))
    o = one(traceability(release_facts(img), params, target))
    assert "not SLSA provenance" in texts(o)


def test_the_readme_keyless_policies_load(tmp_path: Any) -> None:
    """Every `.mlops-gate.yml` of the README's keyless section is a valid policy whose signers are well formed."""
    from pathlib import Path

    from mlops_gate import policy

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Keyless signatures and attestations", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```yaml\n")[1:] if b.startswith("# .mlops-gate.yml")]
    assert len(blocks) == 3
    for i, block in enumerate(blocks):
        path = tmp_path / f"p{i}.yml"
        path.write_text("version: 1\nextends: default\n" + block)
        loaded = policy.load(path)
        signers = [s for c in loaded.checks.values() for s in getattr(c.params, "signers", ())]
        assert signers and all(s.issuer and s.workflows for s in signers)
