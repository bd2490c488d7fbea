"""Genuine artifacts signed by the real services (public-good Sigstore, GitHub's own instance), verified offline by
the gate's keyless verifier, each with its negative twins: another repository, workflow, issuer, commit, digest,
trust root, one byte changed — every twin must fail.

The artifacts are other projects' published test data (MIT, Apache-2.0), committed with attribution in
tests/data/sigstore-artifacts (SOURCES.md says where each file came from, NOTICE and LICENSES/ carry the licences);
the folder named by MLOPS_GATE_SIGSTORE_ARTIFACTS, when set, is read instead. One sub-folder per artifact, holding
one of: a bundle (`bundle.sigstore.json`, or the first line of `bundle.jsonl` / `bundle.intoto.jsonl`) with
`artifact` or `artifact.sha256`; a classic `.sig` layer (`sig-layer-descriptor.json`, `payload.json`,
`image-manifest.json`); or an OCI layout with a classic `.att` (`oci/`, `image.digest`). Trusted roots: its
`trusted_root*.json` files, else the public-good root shipped with sigstore-python. Who signed: `expect.json`
({issuer, workflows, repository, commit, predicate_type, digest, rejected}) when present, else the table below
(values from the artifacts' SOURCES.md), else what the certificate itself states (then the twins still prove each
condition is enforced).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.checks import _fulcio, _sigstore_bundle, _sigstore_classic, _sigstore_roots
from mlops_gate.checks._sigstore_pki import Invalid, Verified
from mlops_gate.providers.anchors import public_good_root

FOLDER = os.environ.get("MLOPS_GATE_SIGSTORE_ARTIFACTS") or str(Path(__file__).parent / "data" / "sigstore-artifacts")
GH = "https://token.actions.githubusercontent.com"
KNOWN: dict[str, dict[str, Any]] = {
    "gh-attest-public-reusable": {"issuer": GH, "workflows": ["https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@*"], "repository": "malancas/attest-demo", "commit": "95baf27389e83e6a5c48f42e190d48d7abcea19e", "predicate_type": "https://slsa.dev/provenance/v1"},
    "gh-attest-public-custom-issuer": {"issuer": GH + "/hammer-time", "workflows": ["https://github.com/too-legit/attest/.github/workflows/*"], "repository": "too-legit/attest", "commit": "283bf967fa3c591925dd25e6a6e8e781542117bf", "predicate_type": "https://slsa.dev/provenance/v1"},
    "gh-attest-private-github-instance": {"issuer": GH, "workflows": ["https://github.com/actions/attest-demo/.github/workflows/*"], "repository": "actions/attest-demo", "commit": "a6c23b9806c593664f68637c8f9d45dfcf98b2db", "predicate_type": "https://slsa.dev/provenance/v1"},
    "gh-release-attestation-github-instance": {"issuer": GH, "workflows": ["*"], "repository": "jdx/communique", "rejected": "issuer (none) is not", "digest": "sha256:" + "0" * 64},
    "cosign-classic-keyless-sig": {"issuer": "https://github.com/login/oauth", "workflows": ["mitr@redhat.com"], "repository": "", "rejected": "names no source repository"},
    "slsa-generator-generic-v2.1.0": {"issuer": GH, "workflows": ["https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v*"], "repository": "slsa-framework/example-package", "commit": "4d329c75e7ec1725f7c9ce917a8799d408d06be3", "predicate_type": "https://slsa.dev/provenance/v0.2"},
    "slsa-generator-container-att-v2.1.0": {"issuer": GH, "workflows": ["https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v*"], "repository": "slsa-framework/example-package", "commit": "4d329c75e7ec1725f7c9ce917a8799d408d06be3", "predicate_type": "https://slsa.dev/provenance/v0.2"},
    "cosign-v3-blob-bundle": {"issuer": "https://github.com/login/oauth", "workflows": ["w.vollprecht@gmail.com"], "repository": "", "rejected": "names no source repository"},
    "cosign-v3-oci-attestation-bundle": {"issuer": "https://github.com/login/oauth", "workflows": ["cody@soyland.com"], "repository": "", "digest": "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4", "predicate_type": "https://cosign.sigstore.dev/attestation/v1", "rejected": "names no source repository"},
    "gha-sigstore-python-message-signature": {"issuer": GH, "workflows": ["https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/*"], "repository": "trailofbits/rfc8785.py", "commit": "d8b4a6445f38c48b9137a8099706d9b8073146e4"},
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Artifact:
    kind: str  # bundle | classic-sig | classic-att
    blob: str | bytes  # the bundle JSON, or the layer blob
    annotations: dict[str, str]
    digest: str  # what it must sign (sha256:<hex>)
    roots: str  # trusted root text (JSON or JSON lines)


class NoRepositoryIdentity(_fulcio.Identity):
    """For an e-mail identity only (no 1.12 to bind), to prove the cryptography: issuer and SAN. The gate itself
    never accepts these — each such artifact is also run with the gate's policy and must be rejected."""

    def match(self, cert: Any) -> _fulcio.Claims:
        got = _fulcio.claims(cert)
        s = self.signers[0]
        if got.issuer != s.issuer or not any(n in s.workflows for n in got.sans):
            raise _fulcio.Mismatch(f"issuer {got.issuer} / SAN {got.sans} is not the expected identity")
        return got


def load(d: Path) -> Artifact:
    own = sorted(d.glob("trusted_root*.json"))
    roots = (
        "\n".join(json.dumps(json.loads(p.read_text())) for p in own)
        if own
        else public_good_root(1 << 20).data.decode()
    )
    if (d / "sig-layer-descriptor.json").exists():
        desc = json.loads((d / "sig-layer-descriptor.json").read_text())
        digest = "sha256:" + hashlib.sha256((d / "image-manifest.json").read_bytes()).hexdigest()
        return Artifact("classic-sig", (d / "payload.json").read_bytes(), desc["annotations"], digest, roots)
    if (d / "oci").is_dir():
        for blob in sorted((d / "oci/blobs/sha256").iterdir()):
            try:
                layers = json.loads(blob.read_bytes()).get("layers") or []
            except (ValueError, UnicodeDecodeError, AttributeError):
                continue
            for layer in layers:
                if layer.get("mediaType") == "application/vnd.dsse.envelope.v1+json" and layer.get("annotations"):
                    data = (d / "oci/blobs/sha256" / layer["digest"].split(":")[1]).read_bytes()
                    return Artifact(
                        "classic-att", data, layer["annotations"], (d / "image.digest").read_text().strip(), roots
                    )
        raise AssertionError(f"{d}: no classic .att layer in the OCI layout")
    for name in ("bundle.sigstore.json", "bundle.jsonl", "bundle.intoto.jsonl"):
        if (d / name).exists():
            text = (d / name).read_text()
            text = text if name.endswith(".json") else text.splitlines()[0]
            break
    else:
        raise AssertionError(f"{d}: no bundle, classic layer or OCI layout")
    if (d / "artifact").exists():
        digest = "sha256:" + hashlib.sha256((d / "artifact").read_bytes()).hexdigest()
    elif (d / "artifact.sha256").exists():
        digest = "sha256:" + (d / "artifact.sha256").read_text().split()[0]
    else:
        digest = ""
    return Artifact("bundle", text, {}, digest, roots)


def verify(
    a: Artifact,
    identity: _fulcio.Identity,
    roots_text: str | None = None,
    digest: str | None = None,
    predicate_type: str | None = None,
) -> Verified:
    """The gate's verifier, then what the checks verify of the payload: in-toto, predicate, subject digest."""
    digest = a.digest if digest is None else digest
    roots = _sigstore_roots.parse(roots_text or a.roots, "trusted roots")
    if a.kind == "bundle":
        v = _sigstore_bundle.verify(str(a.blob), roots, identity, digest, _sigstore_bundle.Verifiers())
    else:
        blob = a.blob if isinstance(a.blob, bytes) else a.blob.encode()
        ann = a.annotations
        v = _sigstore_classic.verify_layer(
            blob,
            ann.get("dev.cosignproject.cosign/signature", ""),
            ann["dev.sigstore.cosign/certificate"],
            ann.get("dev.sigstore.cosign/bundle"),
            roots,
            identity,
        )
    if a.kind == "classic-sig":
        signed = json.loads(v.payload)["critical"]["image"]["docker-manifest-digest"]
        if signed != digest:
            raise Invalid(f"signs {signed}, not {digest}")
    elif v.payload_type:
        statement = json.loads(v.payload)
        subjects = {f"sha256:{s['digest']['sha256']}" for s in statement["subject"] if "sha256" in s.get("digest", {})}
        if v.payload_type != "application/vnd.in-toto+json" or digest not in subjects:
            raise Invalid(f"the statement's subjects {sorted(subjects)} do not include {digest}")
        if predicate_type is not None and statement.get("predicateType") != predicate_type:
            raise Invalid(f"the statement's predicate type {statement.get('predicateType')} is not {predicate_type}")
    return v


def flipped(a: Artifact) -> Artifact:
    if a.kind == "bundle":
        doc = json.loads(str(a.blob))
        if "dsseEnvelope" in doc:
            raw = bytearray(base64.b64decode(doc["dsseEnvelope"]["payload"]))
            raw[len(raw) // 2] ^= 1
            doc["dsseEnvelope"]["payload"] = base64.b64encode(bytes(raw)).decode()
        else:
            raw = bytearray(base64.b64decode(doc["messageSignature"]["signature"]))
            raw[-1] ^= 1
            doc["messageSignature"]["signature"] = base64.b64encode(bytes(raw)).decode()
        return dataclasses.replace(a, blob=json.dumps(doc))
    blob = bytearray(a.blob if isinstance(a.blob, bytes) else a.blob.encode())
    if a.kind == "classic-att":
        env = json.loads(blob)
        raw = bytearray(base64.b64decode(env["payload"]))
        raw[len(raw) // 2] ^= 1
        env["payload"] = base64.b64encode(bytes(raw)).decode()
        return dataclasses.replace(a, blob=json.dumps(env).encode())
    blob[len(blob) // 2] ^= 1
    return dataclasses.replace(a, blob=bytes(blob))


def expectation(d: Path, a: Artifact) -> dict[str, Any]:
    if (d / "expect.json").exists():
        return dict(json.loads((d / "expect.json").read_text()))
    if d.name in KNOWN:
        return dict(KNOWN[d.name])
    from cryptography import x509

    doc = json.loads(str(a.blob)) if a.kind == "bundle" else {}
    leaf = (
        _sigstore_bundle.leaf_of(doc)
        if doc
        else x509.load_pem_x509_certificate(a.annotations["dev.sigstore.cosign/certificate"].encode())
    )
    got = _fulcio.claims(leaf)
    repo = (got.repository or "").split("://", 1)[-1].split("/", 1)[-1]
    return {
        "issuer": got.issuer or "",
        "workflows": list(got.sans),
        "repository": repo,
        "commit": got.commit or "",
        "derived": True,
    }


def _folders() -> list[str]:
    root = Path(FOLDER)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "LICENSES") if root.is_dir() else []


STAGING = "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json"


@pytest.mark.parametrize("name", _folders())
def test_genuine_artifact_and_its_twins(name: str) -> None:
    d = Path(FOLDER) / name
    a = load(d)
    want = expectation(d, a)
    a = dataclasses.replace(a, digest=want.get("digest") or a.digest)
    signer = _fulcio.Signer(want["issuer"], tuple(want["workflows"]), runner="any")
    host = "github.com"
    if want.get("repository"):
        identity = _fulcio.Identity((signer,), want["repository"], host, want.get("commit", ""))
    else:
        identity = NoRepositoryIdentity((signer,), "", host)
    rejected = want.get("rejected")
    report: list[str] = []

    def outcome(label: str, fn: Any) -> str | None:
        try:
            fn()
        except (Invalid, ValueError, KeyError) as exc:
            report.append(f"{name} | {label} | fails: {exc}")
            return str(exc)
        report.append(f"{name} | {label} | passes")
        return None

    if rejected and want.get("repository"):
        why = outcome("genuine (the gate's policy)", lambda: verify(a, identity))
        assert why is not None and rejected in why, why
    else:
        assert outcome("genuine", lambda: verify(a, identity)) is None, report
        if rejected:  # an e-mail identity: the gate's own policy rejects it, for that reason
            gate = _fulcio.Identity((signer,), "someone/anything", host)
            why = outcome("genuine (the gate's policy)", lambda: verify(a, gate))
            assert why is not None and rejected in why, why
    twins: dict[str, Any] = {
        "another workflow": lambda: verify(
            a,
            dataclasses.replace(
                identity, signers=(dataclasses.replace(signer, workflows=("https://github.com/someone/else/*",)),)
            ),
        ),
        "another issuer": lambda: verify(
            a, dataclasses.replace(identity, signers=(dataclasses.replace(signer, issuer="https://gitlab.com"),))
        ),
        "another digest": lambda: verify(
            a, identity, digest="sha256:" + hashlib.sha256(b"another artifact").hexdigest()
        ),
        "another trust root": lambda: verify(a, identity, roots_text=_other_root(a)),
        "one byte changed": lambda: verify(flipped(a), identity),
    }
    if want.get("repository"):
        twins["another repository"] = lambda: verify(a, dataclasses.replace(identity, repository="someone/else"))
    if want.get("commit"):
        twins["another commit"] = lambda: verify(a, dataclasses.replace(identity, commit="0" * 40))
    if want.get("predicate_type") and not rejected:  # the statement's predicate type, as image.provenance reads it
        assert outcome("its predicate type", lambda: verify(a, identity, predicate_type=want["predicate_type"])) is None
        twins["another predicate type"] = lambda: verify(a, identity, predicate_type="https://example.com/other/v1")
    for label, fn in twins.items():
        assert outcome(label, fn) is not None, f"{name}: the twin '{label}' passed"
    print("\n".join(report))


def _other_root(a: Artifact) -> str:
    """Another genuine root: the staging root shipped with sigstore-python (or the public-good one, for an
    artifact whose own root is not it)."""
    import importlib.util

    spec = importlib.util.find_spec("sigstore")
    assert spec is not None and spec.submodule_search_locations
    staging = Path(next(iter(spec.submodule_search_locations))) / "_store" / STAGING
    return staging.read_text() if "fulcio.githubapp.com" not in a.roots else public_good_root(1 << 20).data.decode()


def test_the_folder_has_artifacts() -> None:
    assert _folders(), f"{FOLDER} holds no artifact folders"
