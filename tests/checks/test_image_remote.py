"""image.labels / image.signature / image.provenance / release.traceability and the remote half of
image.digest-pinned, over hand-built ImageFacts signed in the test with generated keys (no server)."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mlops_gate import signing, typed
from mlops_gate.checks import _oci_verify
from mlops_gate.checks.image import PinParams, digest_pinned
from mlops_gate.checks.image_provenance import ProvenanceParams, provenance
from mlops_gate.checks.image_remote import LabelParams, labels
from mlops_gate.checks.image_signature import SignatureParams, signature
from mlops_gate.checks.release import Params as ReleaseParams
from mlops_gate.checks.release import traceability
from mlops_gate.facts import Facts
from mlops_gate.facts.files import RepoFiles
from mlops_gate.facts.mlflow_registry import MlflowModel, RunFacts
from mlops_gate.facts.oci import Attestation, DsseSignature, ImageFacts, Label, PlatformManifest, PublicKey, Signature
from mlops_gate.facts.platform import CommitRuns, Run
from mlops_gate.lang import slsa
from mlops_gate.model import Outcome
from mlops_gate.target import Target
from tests.support.oci_registry import (
    BUILDER,
    COMMIT,
    OTHER_COMMIT,
    REPO,
    Signer,
    b64,
    envelope,
    pae,
    simple_signing,
    slsa_v02,
    slsa_v1,
)

D = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64
REF = "registry.example.com/ml/churn"
TARGET = Target(image=f"{REF}@{D}", repository=REPO, commit=COMMIT, platform="github", model="churn@champion")
KEY = Signer.ec()
PROV = ProvenanceParams(keys=(KEY.pem,), builder_ids=(BUILDER,))


def image(**changes: Any) -> ImageFacts:
    base = ImageFacts(
        ref=f"{REF}@{D}",
        registry="registry.example.com",
        repository="ml/churn",
        pinned=True,
        digest=D,
        media_type="application/vnd.oci.image.manifest.v1+json",
        labels=(
            Label("org.opencontainers.image.source", f"https://github.com/{REPO}", "config label"),
            Label("org.opencontainers.image.revision", COMMIT, "config label"),
        ),
        signatures=(),
        attestations=(),
    )
    return dataclasses.replace(base, **changes)


def sig(
    signer: Signer, digest: str = D, payload: bytes | None = None, signed: bytes | None = None, **kw: Any
) -> Signature:
    payload = payload if payload is not None else simple_signing(digest, REF)
    sig_bytes = signer.sign(signed if signed is not None else payload, pss=kw.pop("pss", False))
    return Signature(
        "tag sha256-1111.sig", "sha256:" + "9" * 64, "sha256:" + "8" * 64, b64(payload), b64(sig_bytes), **kw
    )


def att(statement: bytes, signer: Signer = KEY, **kw: Any) -> Attestation:
    env = envelope(statement, signer)
    return Attestation(
        "tag sha256-1111.att",
        "sha256:" + "7" * 64,
        "sha256:" + "6" * 64,
        env["payloadType"],
        env["payload"],
        tuple(DsseSignature(s["sig"], s["keyid"]) for s in env["signatures"]),
        **kw,
    )


def one(outcomes: Any) -> Outcome:
    got = list(outcomes)
    assert len(got) == 1, got
    return got[0]


def status(o: Outcome) -> str:
    return "error" if o.error else "failed" if o.violations else "passed"


def texts(o: Outcome) -> str:
    return " | ".join(v.message for v in o.violations)


# --- crypto primitives --------------------------------------------------------------------------------


def test_pae_matches_the_dsse_spec_vector() -> None:
    assert _oci_verify.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("a", b"") == _oci_verify.pae("a", b"")
    assert _oci_verify.pae is signing.pae  # one implementation, shared with the evidence bundle


def test_simple_signing_payload_is_cosigns_exact_bytes() -> None:
    assert simple_signing(D, "r/x") == (
        b'{"critical":{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"'
        + D.encode()
        + b'"},"type":"cosign container image signature"},"optional":null}'
    )


@pytest.mark.parametrize(
    "repo_uri",
    [
        "https://github.com/acme/churn",
        "https://github.com/Acme/Churn.git",
        "git+https://github.com/acme/churn@refs/heads/main",
        "git@github.com:acme/churn.git",
        "github.com/acme/churn/",
    ],
)
def test_repository_uris_normalise(repo_uri: str) -> None:
    assert slsa.same_repo(repo_uri, REPO)


def test_other_repositories_do_not_match() -> None:
    assert not slsa.same_repo("https://github.com/evil/acme/churn", REPO)
    assert not slsa.same_repo("https://github.com/acme/churn-fork", REPO)
    assert slsa.same_repo("https://dev.azure.com/org/proj/_git/repo", "org/proj/repo")


def test_another_host_is_another_repository() -> None:
    assert not slsa.same_repo("https://evil.example/acme/churn", REPO, "github.com")
    assert not slsa.same_repo("git+https://evil.example/acme/churn@refs/heads/main", REPO, "github.com")
    assert not slsa.same_repo("git@evil.example:acme/churn.git", REPO, "github.com")
    for uri in (
        "https://GitHub.com/acme/churn",
        "git@github.com:acme/churn.git",
        "https://github.com:443/acme/churn",
        "github.com/acme/churn",
        "acme/churn",
    ):  # the last names no host: the path decides
        assert slsa.same_repo(uri, REPO, "github.com"), uri
    assert slsa.same_repo("https://evil.example/acme/churn", REPO)  # no platform: no host to compare
    assert slsa.same_repo("https://gitlab.example.com:8443/acme/churn", REPO, "gitlab.example.com")
    assert not slsa.same_repo("https://gitlab.com/acme/churn", REPO, "gitlab.example.com")
    azure = "org/proj/repo"
    assert slsa.same_repo("https://org@dev.azure.com/org/proj/_git/repo", azure, "dev.azure.com")
    assert slsa.same_repo("https://org.visualstudio.com/org/proj/_git/repo", azure, "dev.azure.com")
    assert not slsa.same_repo("https://evil.example/org/proj/_git/repo", azure, "dev.azure.com")


@pytest.mark.parametrize(
    "platform,api_url,host",
    [
        ("github", None, "github.com"),
        ("github", "https://api.github.com", "github.com"),
        ("github", "https://ghe.corp.example/api/v3", "ghe.corp.example"),
        ("github", "https://api.acme.ghe.com", "acme.ghe.com"),
        ("gitlab", None, "gitlab.com"),
        ("gitlab", "https://gitlab.example.com:8443/api/v4", "gitlab.example.com"),
        ("gitlab", "gitlab.example.com", "gitlab.example.com"),
        ("azure", None, "dev.azure.com"),
        ("azure", "https://dev.azure.com/org/", "dev.azure.com"),
        ("azure", "https://org.visualstudio.com/", "dev.azure.com"),
        ("azure", "https://tfs.corp.example/tfs/Coll/", "tfs.corp.example"),
        (None, "https://gitlab.example.com/api/v4", ""),
        ("bitbucket", None, ""),
    ],
)
def test_platform_host(platform: str | None, api_url: str | None, host: str) -> None:
    assert slsa.platform_host(platform, api_url) == host


# --- image.digest-pinned (remote half) ----------------------------------------------------------------


def _pinned(img: ImageFacts) -> list[Outcome]:
    return list(digest_pinned(Facts({"deploy_manifests": RepoFiles("."), "oci_image": img}), PinParams(), TARGET))


def test_target_by_digest_passes_and_tag_fails_naming_the_digest() -> None:
    o = one(_pinned(image()))
    assert status(o) == "passed" and o.subject == f"oci:{REF}@{D}" and o.message == f"target image resolves to {D}"
    o = one(_pinned(image(ref=f"{REF}:v1", tag="v1", pinned=False)))
    assert status(o) == "failed"
    assert texts(o) == f"target image {REF}:v1 is a tag; it resolves to {D} now: gate and deploy {REF}@{D}"


def test_no_target_image_judges_only_the_files() -> None:
    o = one(_pinned(ImageFacts(ref="")))
    assert o.message == "no image reference found in 0 deploy manifests" and status(o) == "passed"


def test_multi_arch_index_reports_its_platforms() -> None:
    plats = (PlatformManifest(OTHER, "m", "linux/amd64"), PlatformManifest("sha256:" + "3" * 64, "m", "linux/arm64"))
    o = one(_pinned(image(platforms=plats, media_type="application/vnd.oci.image.index.v1+json")))
    assert status(o) == "passed" and f"linux/arm64: sha256:{'3' * 64}" in o.evidence


# --- image.labels -----------------------------------------------------------------------------------


def test_labels_match() -> None:
    o = one(labels(Facts({"oci_image": image()}), LabelParams(), TARGET))
    assert status(o) == "passed"
    assert o.message == f"org.opencontainers.image.source, org.opencontainers.image.revision match {REPO}@{COMMIT[:12]}"


def test_label_mismatch_and_missing_are_named() -> None:
    img = image(labels=(Label("org.opencontainers.image.revision", OTHER_COMMIT, "config label (linux/arm64)"),))
    o = one(labels(Facts({"oci_image": img}), LabelParams(), TARGET))
    assert status(o) == "failed"
    assert texts(o) == (
        f"label org.opencontainers.image.source is missing (it should be the repository {REPO}) | "
        f"org.opencontainers.image.revision={OTHER_COMMIT} (config label (linux/arm64)), but the gated commit is {COMMIT}"
    )


def test_source_label_on_another_host_fails() -> None:
    img = image(
        labels=(
            Label("org.opencontainers.image.source", f"https://evil.example/{REPO}", "config label"),
            Label("org.opencontainers.image.revision", COMMIT, "config label"),
        )
    )
    o = one(labels(Facts({"oci_image": img}), LabelParams(), TARGET))
    assert status(o) == "failed"
    assert (
        texts(o)
        == f"org.opencontainers.image.source=https://evil.example/{REPO} (config label), but the gated repository is {REPO}"
    )
    gitlab = dataclasses.replace(TARGET, platform="gitlab", api_url="https://gitlab.example.com/api/v4")
    assert (
        status(one(labels(Facts({"oci_image": image()}), LabelParams(), gitlab))) == "failed"
    )  # github.com/acme/churn
    mirrored = image(
        labels=(Label("org.opencontainers.image.source", f"https://gitlab.example.com/{REPO}", "config label"),)
    )
    assert status(one(labels(Facts({"oci_image": mirrored}), LabelParams(revision_label=""), gitlab))) == "passed"


def test_labels_not_collected_is_an_error() -> None:
    assert status(one(labels(Facts({"oci_image": image(labels=None)}), LabelParams(), TARGET))) == "error"


# --- image.signature --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signer,pss",
    [
        (Signer.ec(), False),
        (Signer.ec(ec.SECP384R1()), False),
        (Signer.ec(ec.SECP521R1()), False),
        (Signer.rsa(), False),
        (Signer.rsa(), True),
        (Signer.ed25519(), False),
    ],
)
def test_signature_verifies_with_each_key_type(signer: Signer, pss: bool) -> None:
    o = one(
        signature(
            Facts({"oci_image": image(signatures=(sig(signer, pss=pss),))}), SignatureParams((signer.pem,)), TARGET
        )
    )
    assert status(o) == "passed", o
    assert o.message.startswith("verified with inline key sha256:") and f"binds {D}" in o.message


def test_key_file_read_by_the_provider() -> None:
    img = image(signatures=(sig(KEY),), keys=(PublicKey("cosign.pub", pem=KEY.pem),))
    o = one(signature(Facts({"oci_image": img}), SignatureParams(("cosign.pub",)), TARGET))
    assert status(o) == "passed" and o.message.startswith("verified with cosign.pub, binds")


def test_unreadable_key_file_is_an_error() -> None:
    img = image(signatures=(sig(KEY),), keys=(PublicKey("cosign.pub", error="cannot read key file cosign.pub"),))
    o = one(signature(Facts({"oci_image": img}), SignatureParams(("cosign.pub",)), TARGET))
    assert status(o) == "error" and "cannot read key file cosign.pub" in (o.error or "")


def test_unsigned_fails() -> None:
    o = one(signature(Facts({"oci_image": image()}), SignatureParams((KEY.pem,)), TARGET))
    assert status(o) == "failed" and texts(o).startswith(f"no cosign signature found for {D}")


def test_no_keys_is_an_error_never_a_pass() -> None:
    o = one(signature(Facts({"oci_image": image(signatures=(sig(KEY),))}), SignatureParams(), TARGET))
    assert status(o) == "error" and "checks.image.signature.params.keys" in (o.error or "")


def test_signed_with_another_key_fails() -> None:
    o = one(signature(Facts({"oci_image": image(signatures=(sig(Signer.ec()),))}), SignatureParams((KEY.pem,)), TARGET))
    assert status(o) == "failed" and "does not verify with any of the 1 policy key(s)" in texts(o)


def test_signature_copied_from_another_digest_fails() -> None:
    o = one(
        signature(
            Facts({"oci_image": image(signatures=(sig(KEY, digest=OTHER),))}), SignatureParams((KEY.pem,)), TARGET
        )
    )
    assert status(o) == "failed"
    assert f"but signs {OTHER}, not {D} (a signature copied from another image)" in texts(o)


def test_tampered_payload_fails() -> None:
    honest = simple_signing(OTHER, REF)
    o = one(
        signature(
            Facts({"oci_image": image(signatures=(sig(KEY, payload=simple_signing(D, REF), signed=honest),))}),
            SignatureParams((KEY.pem,)),
            TARGET,
        )
    )
    assert status(o) == "failed" and "does not verify" in texts(o)


def test_one_good_signature_among_bad_ones_passes() -> None:
    img = image(signatures=(sig(Signer.ec()), sig(KEY)))
    o = one(signature(Facts({"oci_image": img}), SignatureParams((KEY.pem,)), TARGET))
    assert status(o) == "passed" and "(1 of 2 signatures)" in o.message


# --- image.provenance -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [slsa_v1, slsa_v02])
def test_provenance_passes(make: Any) -> None:
    o = one(provenance(Facts({"oci_image": image(attestations=(att(make(D)),))}), PROV, TARGET))
    assert status(o) == "passed", o
    assert (
        o.message.startswith("verified SLSA provenance signed by inline key") and f"{REPO}@{COMMIT[:12]}" in o.message
    )


@pytest.mark.parametrize(
    "statement,signer,expected",
    [
        (slsa_v1(OTHER), KEY, f"its subject is {OTHER}, not {D}"),
        (
            slsa_v1(D, builder="https://evil.example/builder"),
            KEY,
            "builder https://evil.example/builder is not in builder_ids",
        ),
        (slsa_v1(D, commit=OTHER_COMMIT), KEY, f"built from commit {OTHER_COMMIT}, not {COMMIT}"),
        (slsa_v1(D, repo="evil/churn"), KEY, f"not {REPO}"),
        (slsa_v1(D), Signer.ec(), "no signature verifies with the 1 policy key(s)"),
    ],
)
def test_bad_provenance_fails(statement: bytes, signer: Signer, expected: str) -> None:
    o = one(provenance(Facts({"oci_image": image(attestations=(att(statement, signer),))}), PROV, TARGET))
    assert status(o) == "failed" and expected in texts(o), texts(o)


def test_provenance_from_a_repository_of_the_same_name_on_another_host_fails() -> None:
    evil = slsa_v1(D).replace(f"https://github.com/{REPO}".encode(), f"https://evil.example/{REPO}".encode())
    assert b"https://github.com/" + REPO.encode() not in evil
    o = one(provenance(Facts({"oci_image": image(attestations=(att(evil),))}), PROV, TARGET))
    assert status(o) == "failed" and f"built from git+https://evil.example/{REPO}@refs/heads/main" in texts(o), texts(o)
    o = _release(image(attestations=(att(evil),)))
    assert status(
        o
    ) == "failed" and f"provenance source commit: no verified provenance names a commit of {REPO}" in texts(o)


def test_tampered_statement_fails() -> None:
    a = att(slsa_v1(D, commit=OTHER_COMMIT))
    a = dataclasses.replace(a, payload=b64(slsa_v1(D)))
    o = one(provenance(Facts({"oci_image": image(attestations=(a,))}), PROV, TARGET))
    assert status(o) == "failed" and "no signature verifies" in texts(o)


def test_builder_ids_are_globs_and_empty_lists_are_errors() -> None:
    params = dataclasses.replace(PROV, builder_ids=("https://github.com/slsa-framework/*@refs/tags/v2.*",))
    assert (
        status(one(provenance(Facts({"oci_image": image(attestations=(att(slsa_v1(D)),))}), params, TARGET)))
        == "passed"
    )
    o = one(provenance(Facts({"oci_image": image()}), ProvenanceParams(), TARGET))
    assert o.error == (
        "set checks.image.provenance.params.keys (or signers) and set checks.image.provenance.params.builder_ids "
        "(an empty allow-list cannot pass)"
    )


def test_non_slsa_attestation_does_not_count() -> None:
    other = json.loads(slsa_v1(D))
    other["predicateType"] = "https://cyclonedx.org/bom"
    o = one(provenance(Facts({"oci_image": image(attestations=(att(json.dumps(other).encode()),))}), PROV, TARGET))
    assert status(o) == "failed" and "is not SLSA provenance" in texts(o)


def test_facts_round_trip_through_json() -> None:
    img = image(attestations=(att(slsa_v1(D)),), signatures=(sig(KEY),), keys=(PublicKey("k.pub", pem=KEY.pem),))
    data = json.loads(json.dumps(typed.to_data(img)))
    assert typed.from_data(ImageFacts, data) == img


# --- release.traceability ---------------------------------------------------------------------------


def _release(
    img: ImageFacts, run_commit: str | None = COMMIT, conclusion: str = "success", params: ReleaseParams | None = None
) -> Outcome:
    run = (
        None
        if run_commit is None
        else RunFacts("r1", tags={"mlflow.source.git.commit": run_commit} if run_commit else {})
    )
    model = MlflowModel("http://mlflow", "churn@champion", run=run, notes=() if run else ("run r1: 404",))
    runs = CommitRuns("github", REPO, COMMIT, (Run("test", "completed", conclusion, "check-run"),))
    facts = Facts({"oci_image": img, "mlflow_model": model, "commit_runs": runs})
    return one(traceability(facts, params or ReleaseParams(keys=(KEY.pem,)), TARGET))


def test_release_chain_holds() -> None:
    o = _release(image(attestations=(att(slsa_v1(D)),)))
    assert status(o) == "passed", o
    assert o.subject == f"release:{COMMIT[:12]}" and o.message.startswith(f"commit {COMMIT[:12]} = MLflow run")


def test_release_chain_names_each_broken_link() -> None:
    img = image(
        attestations=(att(slsa_v1(D, commit=OTHER_COMMIT)),),
        labels=(Label("org.opencontainers.image.revision", OTHER_COMMIT, "config label"),),
    )
    o = _release(img, run_commit="", conclusion="failure")
    assert status(o) == "failed"
    assert [v.message.split(":")[0] for v in o.violations] == [
        "MLflow run r1 commit",
        "image revision label (config label)",
        "provenance source commit",
        "CI runs",
    ]
    assert "mlflow.source.git.commit is not set" in texts(o) and "not passed: test failure" in texts(o)


def test_release_without_verifiable_provenance_keys_fails() -> None:
    o = _release(image(attestations=(att(slsa_v1(D)),)), params=ReleaseParams())
    assert status(o) == "failed" and "set checks.release.traceability.params.keys" in texts(o)


def test_release_with_unread_mlflow_run_is_an_error() -> None:
    o = _release(image(attestations=(att(slsa_v1(D)),)), run_commit=None)
    assert status(o) == "error" and "the MLflow run of churn@champion was not read: run r1: 404" in (o.error or "")


def test_b64_accepts_url_safe_dsse() -> None:
    data = b"\xfb\xff" * 5
    assert _oci_verify.b64(base64.urlsafe_b64encode(data).decode().rstrip("=")) == data


# --- provider helpers that need no server: references, transport, credentials ------------------------


@pytest.mark.parametrize(
    "ref,expected",
    [
        ("python:3.12", ("docker.io", "library/python", "3.12", None)),
        ("acme/churn", ("docker.io", "acme/churn", None, None)),
        (f"ghcr.io/acme/churn:v1@{D}", ("ghcr.io", "acme/churn", "v1", D)),
        (f"localhost:5000/ml/churn@{D}", ("localhost:5000", "ml/churn", None, D)),
        ("docker://127.0.0.1:5000/a/b:t", ("127.0.0.1:5000", "a/b", "t", None)),
    ],
)
def test_references_are_normalised_like_docker(ref: str, expected: tuple[Any, ...]) -> None:
    from mlops_gate.providers._oci_ref import parse

    r = parse(ref)
    assert (r.registry, r.repository, r.tag, r.digest) == expected


def test_bad_reference_says_how_to_write_one() -> None:
    from mlops_gate.errors import FactError
    from mlops_gate.providers._oci_ref import parse

    with pytest.raises(FactError, match="is not a sha256/sha512 digest"):
        parse("ghcr.io/acme/churn@sha256:abc")


def test_https_except_loopback_and_listed_insecure_hosts() -> None:
    from mlops_gate.providers._oci_ref import scheme

    env = {"MLOPS_GATE_INSECURE_REGISTRIES": "reg.lan:5000, other.lan"}
    assert [
        scheme(h, env)
        for h in ("ghcr.io", "127.0.0.1:5000", "localhost:5000", "[::1]:5000", "reg.lan:5000", "reg.lan", "other.lan")
    ] == ["https", "http", "http", "http", "http", "https", "http"]


def test_credentials_from_env_then_docker_config(tmp_path: Any) -> None:
    from mlops_gate.providers._oci_auth import credentials

    auth = base64.b64encode(b"bob:pw:with:colons").decode()
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "auths": {"https://index.docker.io/v1/": {"auth": auth}, "ghcr.io": {"auth": auth}},
                "credsStore": "desktop",
            }
        )
    )
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert credentials("docker.io", env) == (("bob", "pw:with:colons"), None)
    assert credentials("ghcr.io", env) == (("bob", "pw:with:colons"), None)
    creds, note = credentials("quay.io", env)
    assert creds is None and note is not None and "credential helper 'desktop'" in note
    user = {"MLOPS_GATE_REGISTRY_USERNAME": "u", "MLOPS_GATE_REGISTRY_PASSWORD": "p"}
    assert credentials("quay.io", {**env, **user, "MLOPS_GATE_REGISTRY_HOST": "quay.io"}) == (("u", "p"), None)
    # bound to the registry MLOPS_GATE_REGISTRY_HOST names: never sent to whichever registry an image names
    creds, note = credentials("quay.io", {**env, **user, "MLOPS_GATE_REGISTRY_HOST": "ghcr.io"})
    assert creds is None and note == "MLOPS_GATE_REGISTRY_USERNAME/PASSWORD are for ghcr.io, not sent to quay.io"
    creds, note = credentials("quay.io", {**env, **user})
    assert creds is None and note is not None and "set MLOPS_GATE_REGISTRY_HOST" in note
    assert credentials("ghcr.io", {**user, "MLOPS_GATE_REGISTRY_HOST": "https://ghcr.io/"}) == (("u", "p"), None)
    assert credentials("docker.io", {**user, "MLOPS_GATE_REGISTRY_HOST": "index.docker.io"}) == (("u", "p"), None)


def test_challenge_parsing() -> None:
    from mlops_gate.providers._oci_auth import parse_challenge

    assert parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/python:pull"'
    ) == (
        "bearer",
        {
            "realm": "https://auth.docker.io/token",
            "service": "registry.docker.io",
            "scope": "repository:library/python:pull",
        },
    )
    assert parse_challenge('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})
