"""Keyless signatures and attestations end to end: signed here by a self-made Sigstore instance in their genuine
formats, pushed to a real Debian `docker-registry` on loopback (cosign's classic `.sig`/`.att` tags, cosign v3
bundles as referrers through the `sha256-<hex>` tag fallback) or served by the replay server as GitHub's
attestations API (inline bundles, and `bundle_url` blobs in raw Snappy, fetched without the GitHub token), then
judged through the CLI with a policy naming keyless signers and a trusted root file in the repository."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cramjam
import pytest

from mlops_gate.cli import main
from tests.support.oci_registry import (
    BUNDLE,
    COMMIT,
    DSSE,
    OCI_INDEX,
    OCI_MANIFEST,
    REPO,
    SIMPLESIGNING,
    Layout,
    Registry,
    canonical,
    registries,
    simple_signing,
    slsa_v1,
    tools_missing,
)
from tests.support.replay import ReplayServer
from tests.support.sigstore_instance import GITHUB_ISSUER, Identity, Instance, sign_v1

pytestmark = [pytest.mark.server, pytest.mark.skipif(tools_missing() is not None, reason=str(tools_missing()))]

NAME = "ml/churn"
INST = Instance("e2e")
BUILDER = "https://github.com/actions/runner/github-hosted"
WORKFLOWS = ["https://github.com/acme/churn/.github/workflows/release.yml@refs/tags/v*"]
TOKEN = "ghp_secret_token_for_the_api_only"


@dataclass
class World:
    reg: Registry
    digests: dict[str, str] = field(default_factory=dict)

    def ref(self, tag: str) -> str:
        return f"{self.reg.host}/{NAME}@{self.digests[tag]}"


def bundle_referrers(reg: Registry, digest: str, bundles: list[dict[str, Any]]) -> None:
    """cosign v3's layout on a registry without the referrers API: one referrer manifest per bundle, listed in
    the `sha256-<hex>` tag index."""
    subject = {"mediaType": OCI_MANIFEST, "digest": digest, "size": 1}
    descs = []
    for b in bundles:
        ref = reg.artifact(
            NAME,
            None,
            [(canonical(b), BUNDLE, {})],
            "application/vnd.oci.empty.v1+json",
            artifactType=BUNDLE,
            subject=subject,
        )
        descs.append({"mediaType": OCI_MANIFEST, "digest": ref, "size": 1, "artifactType": BUNDLE})
    reg.put_manifest(
        NAME,
        digest.replace(":", "-"),
        canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descs}),
        OCI_INDEX,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with registries() as (plain, _token):
        w = World(plain)
        layout = Layout(tmp_path_factory.mktemp("layout"))
        for tag in ("sig", "att", "v3", "forked", "github", "github-url", "none"):
            desc = layout.image({}, content=tag.encode())
            layout.tag(desc, tag)
            w.digests[tag] = desc["digest"]
            plain.push_layout(layout, tag, NAME)
        d = w.digests
        payload = simple_signing(d["sig"], f"{plain.host}/{NAME}")
        ann = INST.classic_sig(payload)
        plain.artifact(NAME, d["sig"].replace(":", "-") + ".sig", [(payload, SIMPLESIGNING, ann)])
        blob, ann = INST.classic_att(slsa_v1(d["att"], builder=BUILDER))
        plain.artifact(NAME, d["att"].replace(":", "-") + ".att", [(blob, DSSE, ann)])
        bundle_referrers(
            plain, d["v3"], [INST.dsse_bundle(sign_v1(d["v3"])), INST.dsse_bundle(slsa_v1(d["v3"], builder=BUILDER))]
        )
        forked = Identity(repo="https://github.com/evil/churn")  # a fork calling acme's release workflow: same SAN
        bundle_referrers(plain, d["forked"], [INST.dsse_bundle(slsa_v1(d["forked"], builder=BUILDER), forked)])
        yield w


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "sigstore").mkdir()
    (tmp_path / "sigstore" / "root.json").write_text(json.dumps(INST.trusted_root()))
    keyless = {"signers": [{"issuer": GITHUB_ISSUER, "workflows": WORKFLOWS}], "trusted_roots": ["sigstore/root.json"]}
    policy = {
        "version": 1,
        "extends": "default",
        "checks": {
            "image.signature": {"params": keyless},
            "image.provenance": {"params": {**keyless, "builder_ids": [BUILDER]}},
        },
    }
    (tmp_path / ".mlops-gate.yml").write_text(json.dumps(policy))
    return tmp_path


def gate(
    repo: Path,
    image: str,
    only: str,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
    env: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    args = [
        "check",
        "--only",
        only,
        "--image",
        image,
        "--commit",
        COMMIT,
        "--repository",
        REPO,
        "--repo",
        str(repo),
        "--format",
        "json",
        *extra,
    ]
    code = main(args, env={"HOME": str(repo), **(env or {})})
    return code, json.loads(capsys.readouterr().out)


def result(report: dict[str, Any], check: str) -> dict[str, Any]:
    found = [r for r in report["results"] if r["check"] == check and r["subject"].startswith("oci:")]
    assert len(found) == 1, report["results"]
    return found[0]


def violations(r: dict[str, Any]) -> str:
    return " | ".join(v["message"] for v in r["violations"])


@pytest.mark.parametrize(
    ("tag", "check"),
    [("sig", "image.signature"), ("att", "image.provenance"), ("v3", "image.signature"), ("v3", "image.provenance")],
)
def test_keyless_shapes_on_a_registry_pass(
    world: World, repo: Path, capsys: pytest.CaptureFixture[str], tag: str, check: str
) -> None:
    code, report = gate(repo, world.ref(tag), check, capsys)
    r = result(report, check)
    assert (code, r["status"]) == (0, "passed"), r
    assert "keyless https://github.com/acme/churn/.github/workflows/release.yml@refs/tags/v1.0.0" in r["message"]


def test_v3_provenance_is_not_taken_for_a_signature_nor_the_reverse(
    world: World, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = gate(repo, world.ref("v3"), "image.*", capsys)
    evidence = " ".join(result(report, "image.signature")["evidence"])
    assert "an attestation (https://slsa.dev/provenance/v1), not a cosign signature" in evidence
    assert "predicate 'https://sigstore.dev/cosign/sign/v1' is not SLSA provenance" in " ".join(
        result(report, "image.provenance")["evidence"]
    )


def test_a_bundle_from_another_repository_fails(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(repo, world.ref("forked"), "image.provenance", capsys)
    r = result(report, "image.provenance")
    assert (code, r["status"]) == (
        1,
        "failed",
    ) and "built from https://github.com/evil/churn (1.12), not the gated repository acme/churn" in violations(r)


def test_another_trust_root_in_the_repository_fails(
    world: World, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "sigstore" / "root.json").write_text(json.dumps(Instance("e2e").trusted_root()))  # same names, other keys
    code, report = gate(repo, world.ref("sig"), "image.signature", capsys)
    r = result(report, "image.signature")
    assert (code, r["status"]) == (1, "failed") and "keyless: the Rekor log" in violations(r)


def test_a_missing_trusted_root_file_is_an_error(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "sigstore" / "root.json").unlink()
    code, report = gate(repo, world.ref("sig"), "image.signature", capsys)
    r = result(report, "image.signature")
    assert (code, r["status"]) == (3, "error") and "cannot read trusted root file sigstore/root.json" in r["message"]


# --- the GitHub attestations API ----------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[ReplayServer]:
    server = ReplayServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_github_attestations_inline_and_via_bundle_url_without_the_token(
    world: World, repo: Path, api: ReplayServer, capsys: pytest.CaptureFixture[str]
) -> None:
    d = world.digests
    # the gated repository's host is the API's (GitHub Enterprise: --api-url), here the replay server's
    here = Identity(repo="https://127.0.0.1/acme/churn")

    def statement(digest: str) -> bytes:
        return (
            slsa_v1(digest, builder="BUILDER")
            .replace(b"https://github.com/", b"https://127.0.0.1/")
            .replace(b"BUILDER", BUILDER.encode())
        )

    inline = INST.dsse_bundle(statement(d["github"]), here, log=False, stamp=True, sct=False)  # GitHub's instance
    api.add(
        "GET",
        f"/repos/{REPO}/attestations/{d['github']}",
        200,
        {"attestations": [{"bundle": inline, "repository_id": 1, "initiator": "user"}]},
    )
    compressed = bytes(cramjam.snappy.compress_raw(canonical(INST.dsse_bundle(statement(d["github-url"]), here))))
    api.add(
        "GET",
        f"/repos/{REPO}/attestations/{d['github-url']}",
        200,
        {"attestations": [{"bundle": None, "bundle_url": api.url + "/blobs/att-1"}]},
    )
    api.add("GET", "/blobs/att-1", 200, compressed, headers={"Content-Type": "application/octet-stream"})
    api.add("GET", f"/repos/{REPO}/attestations/{d['none']}", 404, {"message": "Not Found"})
    # GitHub's root has no transparency log nor CT keys at all: a JSON-lines file with both roots, as `gh attestation trusted-root` prints
    lines = (
        json.dumps(INST.trusted_root())
        + "\n"
        + json.dumps(INST.trusted_root(tlogs=False, ctlogs=False, keys_present=False))
        + "\n"
    )
    (repo / "sigstore" / "root.json").write_text(lines)
    env = {"GITHUB_TOKEN": TOKEN}
    for tag in ("github", "github-url"):
        code, report = gate(
            repo, world.ref(tag), "image.provenance", capsys, "--platform", "github", "--api-url", api.url, env=env
        )
        r = result(report, "image.provenance")
        assert (code, r["status"]) == (0, "passed"), (r["message"], r["violations"], r["evidence"])
        assert "GitHub attestations API (acme/churn)" in " ".join(r["evidence"])
    code, report = gate(
        repo, world.ref("none"), "image.provenance", capsys, "--platform", "github", "--api-url", api.url, env=env
    )
    r = result(report, "image.provenance")
    assert (code, r["status"]) == (
        1,
        "failed",
    ) and f"GitHub has no attestation of {d['none']} in acme/churn" in " ".join(r["evidence"])
    listed = api.requests("GET", f"/repos/{REPO}/attestations/{d['github']}")
    assert listed and all(s.headers.get("Authorization") == f"token {TOKEN}" for s in listed)
    blob = api.requests("GET", "/blobs/att-1")
    assert len(blob) == 1 and not any(k.lower() == "authorization" for k in blob[0].headers)  # never the GitHub token
    assert not api.unmatched()


def test_github_attestations_api_refusal_is_an_error_naming_the_permission(
    world: World, repo: Path, api: ReplayServer, capsys: pytest.CaptureFixture[str]
) -> None:
    api.add(
        "GET",
        f"/repos/{REPO}/attestations/{world.digests['none']}",
        403,
        {"message": "Resource not accessible by integration"},
    )
    code, report = gate(
        repo,
        world.ref("none"),
        "image.provenance",
        capsys,
        "--platform",
        "github",
        "--api-url",
        api.url,
        env={"GITHUB_TOKEN": TOKEN},
    )
    r = result(report, "image.provenance")
    assert (code, r["status"]) == (3, "error") and "Attestations: read" in r["message"]
    assert TOKEN not in json.dumps(report)
