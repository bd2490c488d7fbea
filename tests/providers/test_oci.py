"""The image checks end to end: images built here as OCI layouts, pushed with skopeo to real Debian
`docker-registry` servers on loopback (anonymous and token auth), signed and attested here with
generated keys, then judged through the CLI."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from tests.support.oci_registry import (
    BUILDER,
    COMMIT,
    OTHER_COMMIT,
    REPO,
    Layout,
    Registry,
    Signer,
    free_port,
    registries,
    simple_signing,
    slsa_v1,
    start_basic_registry,
    tools_missing,
)

pytestmark = [pytest.mark.server, pytest.mark.skipif(tools_missing() is not None, reason=str(tools_missing()))]

NAME = "ml/churn"
SOURCE = f"https://github.com/{REPO}"
GOOD_LABELS = {"org.opencontainers.image.source": SOURCE, "org.opencontainers.image.revision": COMMIT}
KEY, OTHER_KEY = Signer.ec(), Signer.ec()


@dataclass
class World:
    plain: Registry
    token: Registry
    basic: Registry | None
    digests: dict[str, str] = field(default_factory=dict)

    def ref(self, tag: str, registry: Registry | None = None) -> str:
        return f"{(registry or self.plain).host}/{NAME}@{self.digests[tag]}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with registries() as (plain, token):
        basic = start_basic_registry(tmp_path_factory.mktemp("basic"), {"ci": "s3cret-pass"})
        w = World(plain, token, basic)
        layout = Layout(tmp_path_factory.mktemp("layout"))
        images = {  # tag -> labels; distinct content gives distinct digests
            "good": GOOD_LABELS,
            "unsigned": GOOD_LABELS,
            "otherkey": GOOD_LABELS,
            "copied": GOOD_LABELS,
            "tampered": GOOD_LABELS,
            "attother": GOOD_LABELS,
            "builder": GOOD_LABELS,
            "bundled": GOOD_LABELS,
            "othercommit": {**GOOD_LABELS, "org.opencontainers.image.revision": OTHER_COMMIT},
        }
        for tag, labels in images.items():
            desc = layout.image(labels, content=tag.encode())
            layout.tag(desc, tag)
            w.digests[tag] = desc["digest"]
        amd = layout.image(GOOD_LABELS, "amd64", content=b"multi-amd64")
        arm = layout.image(GOOD_LABELS, "arm64", content=b"multi-arm64")
        index = layout.index([(amd, "amd64"), (arm, "arm64")])
        layout.tag(index, "multi")
        w.digests["multi"] = index["digest"]
        w.digests["multi-arm64"] = arm["digest"]
        for tag in [*images, "multi"]:
            plain.push_layout(layout, tag, NAME, all_platforms=tag == "multi")
        token.push_layout(layout, "good", NAME)
        if basic is not None:
            basic.push_layout(layout, "good", NAME)

        d = w.digests
        for tag in ("good", "builder", "attother", "othercommit", "multi"):
            plain.sign(NAME, d[tag], KEY)
        plain.sign(NAME, d["otherkey"], OTHER_KEY)
        plain.sign(NAME, d["copied"], KEY, payload=simple_signing(d["good"], f"{plain.host}/{NAME}"))
        plain.sign(NAME, d["tampered"], KEY, signed=simple_signing(d["good"], f"{plain.host}/{NAME}"))
        plain.attest(NAME, d["good"], slsa_v1(d["good"]), KEY)
        plain.attest(NAME, d["multi"], slsa_v1(d["multi"]), KEY)
        plain.attest(NAME, d["attother"], slsa_v1(d["good"]), KEY)
        plain.attest(NAME, d["builder"], slsa_v1(d["builder"], builder="https://evil.example/builder"), KEY)
        plain.attest(NAME, d["othercommit"], slsa_v1(d["othercommit"], commit=OTHER_COMMIT), KEY)
        plain.bundle_referrer(NAME, d["bundled"], slsa_v1(d["bundled"]), KEY)
        token.sign(NAME, d["good"], KEY)
        try:
            yield w
        finally:
            if basic is not None:
                basic.stop()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "cosign.pub").write_text(KEY.pem)
    (tmp_path / ".mlops-gate.yml").write_text(
        json.dumps(
            {
                "version": 1,
                "extends": "default",
                "checks": {
                    "image.signature": {"params": {"keys": ["cosign.pub"]}},
                    "image.provenance": {"params": {"keys": ["cosign.pub"], "builder_ids": [BUILDER]}},
                    "release.traceability": {"params": {"keys": ["cosign.pub"], "required": ["test"]}},
                },
            }
        )
    )
    return tmp_path


def gate(
    repo: Path,
    image: str,
    only: str,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str] | None = None,
    *extra: str,
) -> tuple[int, dict[str, Any]]:
    code = main(
        [
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
        ],
        env={"HOME": str(repo), **(env or {})},
    )
    out = capsys.readouterr().out
    return code, json.loads(out)


def result(report: dict[str, Any], check: str) -> dict[str, Any]:
    found = [r for r in report["results"] if r["check"] == check and r["subject"].startswith("oci:")]
    assert len(found) == 1, report["results"]
    return found[0]


def violations(r: dict[str, Any]) -> str:
    return " | ".join(v["message"] for v in r["violations"])


def test_good_image_passes_every_image_check(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(repo, world.ref("good"), "image.*", capsys)
    d = world.digests["good"]
    assert code == 0, report["results"]
    subject = f"oci:{world.plain.host}/{NAME}@{d}"
    assert {r["check"]: (r["status"], r["subject"]) for r in report["results"] if r["subject"].startswith("oci:")} == {
        c: ("passed", subject) for c in ("image.digest-pinned", "image.labels", "image.signature", "image.provenance")
    }
    assert result(report, "image.signature")["message"] == (
        f"verified with cosign.pub, binds {d} (signed as {world.plain.host}/{NAME}) (1 of 1 signatures)"
    )
    assert result(report, "image.provenance")["message"] == (
        f"verified SLSA provenance signed by cosign.pub: built by {BUILDER} from {REPO}@{COMMIT[:12]}"
    )


def test_tag_instead_of_digest(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = f"{world.plain.host}/{NAME}:good"
    code, report = gate(repo, ref, "image.digest-pinned", capsys)
    r = result(report, "image.digest-pinned")
    assert code == 1 and r["status"] == "failed"
    d = world.digests["good"]
    assert (
        violations(r)
        == f"target image {ref} is a tag; it resolves to {d} now: gate and deploy {world.plain.host}/{NAME}@{d}"
    )


@pytest.mark.parametrize(
    "tag,check,expected",
    [
        ("unsigned", "image.signature", "no cosign signature found for {d}"),
        ("otherkey", "image.signature", "does not verify with any of the 1 policy key(s)"),
        (
            "copied",
            "image.signature",
            "verifies with cosign.pub but signs {good}, not {d} (a signature copied from another image)",
        ),
        ("tampered", "image.signature", "does not verify with any of the 1 policy key(s)"),
        ("attother", "image.provenance", "signed by cosign.pub, but its subject is {good}, not {d}"),
        ("builder", "image.provenance", "builder https://evil.example/builder is not in builder_ids"),
        ("othercommit", "image.provenance", f"built from commit {OTHER_COMMIT}, not {COMMIT}"),
        (
            "othercommit",
            "image.labels",
            f"org.opencontainers.image.revision={OTHER_COMMIT} (config label), but the gated commit is {COMMIT}",
        ),
        ("unsigned", "image.provenance", "no provenance attestation found for {d}"),
    ],
)
def test_bad_images_fail(
    world: World, repo: Path, capsys: pytest.CaptureFixture[str], tag: str, check: str, expected: str
) -> None:
    code, report = gate(repo, world.ref(tag), check, capsys, None, "--fail-on", "medium")  # labels: medium
    r = result(report, check)
    assert (code, r["status"]) == (1, "failed"), r
    assert expected.format(d=world.digests[tag], good=world.digests["good"]) in violations(r)


def test_sigstore_bundle_found_through_the_referrers_tag_fallback(
    world: World, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = gate(
        repo, world.ref("bundled"), "image.provenance", capsys, None, "--facts-out", str(repo / "f.json")
    )
    r = result(report, "image.provenance")
    assert code == 0, r
    assert r["message"].startswith("verified SLSA provenance signed by cosign.pub")
    facts = json.loads((repo / "f.json").read_text())["facts"]["oci_image"]["value"]
    assert facts["referrers_api"] is False  # distribution 2.8 answers 404: the sha256-<hex> tag index was read
    assert facts["attestations"] == []  # the bundle is kept whole, verbatim, for the checks to verify and classify
    assert facts["bundles"][0]["source"].startswith("referrer sha256:")
    assert json.loads(facts["bundles"][0]["json"])["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"


def test_multi_arch_index(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(repo, world.ref("multi"), "image.*", capsys)
    assert code == 0, report["results"]
    pinned = result(report, "image.digest-pinned")
    assert pinned["message"] == f"target image resolves to {world.digests['multi']}"
    assert f"linux/arm64: {world.digests['multi-arm64']}" in pinned["evidence"]
    assert (
        f"org.opencontainers.image.revision={COMMIT} (config label (linux/arm64))"
        in result(report, "image.labels")["evidence"]
    )


def test_registry_down_is_an_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(repo, f"127.0.0.1:{free_port()}/{NAME}:v1", "image.labels", capsys)
    r = report["results"][0]
    assert (code, r["status"]) == (3, "error")
    assert "cannot reach the registry at http://127.0.0.1:" in r["message"]
    assert "check the image reference, the network, and that the registry is up" in r["message"]


def test_token_registry_401_without_credentials(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(repo, world.ref("good", world.token), "image.signature", capsys)
    r = report["results"][0]
    assert (code, r["status"]) == (3, "error")
    assert "answered 401 Unauthorized" in r["message"] and "MLOPS_GATE_REGISTRY_USERNAME" in r["message"]


def test_token_registry_with_credentials(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {
        "MLOPS_GATE_REGISTRY_USERNAME": "ci",
        "MLOPS_GATE_REGISTRY_PASSWORD": "s3cret-pass",
        "MLOPS_GATE_REGISTRY_HOST": world.token.host,
    }
    code, report = gate(repo, world.ref("good", world.token), "image.signature", capsys, env)
    assert code == 0, report["results"]
    assert "s3cret-pass" not in json.dumps(report)


def test_token_registry_with_docker_config(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = repo / "docker"
    config.mkdir()
    auth = base64.b64encode(b"ci:s3cret-pass").decode()
    (config / "config.json").write_text(json.dumps({"auths": {world.token.host: {"auth": auth}}}))
    code, report = gate(repo, world.ref("good", world.token), "image.labels", capsys, {"DOCKER_CONFIG": str(config)})
    assert code == 0, report["results"]


def test_basic_auth_registry(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if world.basic is None:
        pytest.skip("Python's crypt module (for the htpasswd bcrypt hash) is not available")
    ref = world.ref("good", world.basic)
    code, report = gate(repo, ref, "image.labels", capsys)
    assert code == 3 and "Basic auth, no credentials" in report["results"][0]["message"]
    env = {
        "MLOPS_GATE_REGISTRY_USERNAME": "ci",
        "MLOPS_GATE_REGISTRY_PASSWORD": "s3cret-pass",
        "MLOPS_GATE_REGISTRY_HOST": world.basic.host,
    }
    code, report = gate(repo, ref, "image.labels", capsys, env)
    assert code == 0, report["results"]


def test_wrong_password_is_named(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {
        "MLOPS_GATE_REGISTRY_USERNAME": "ci",
        "MLOPS_GATE_REGISTRY_PASSWORD": "wrong-pass",
        "MLOPS_GATE_REGISTRY_HOST": world.token.host,
    }
    code, report = gate(repo, world.ref("good", world.token), "image.labels", capsys, env)
    r = report["results"][0]
    assert (code, r["status"]) == (3, "error") and "token for repository:ml/churn:pull" in r["message"]
    assert "401" in r["message"]


def test_missing_key_file_is_an_error(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "cosign.pub").unlink()
    code, report = gate(repo, world.ref("good"), "image.signature", capsys)
    r = result(report, "image.signature")
    assert (code, r["status"]) == (3, "error") and "cannot read key file cosign.pub" in r["message"]


def test_release_traceability_over_registry_facts(world: World, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Registry facts collected for real, the MLflow and CI links added to the saved facts file."""
    facts = repo / "facts.json"
    code, _ = gate(repo, world.ref("good"), "image.*", capsys, None, "--facts-out", str(facts))
    assert code == 0
    data = json.loads(facts.read_text())
    oci = data["facts"]["oci_image"]
    assert oci["value"]["digest"] == world.digests["good"] and oci["requests"] >= 5
    data["facts"]["mlflow_model"] = {
        "value": {
            "tracking_uri": "http://mlflow",
            "model": "churn@champion",
            "run": {"run_id": "r1", "tags": {"mlflow.source.git.commit": COMMIT}},
        }
    }
    data["facts"]["commit_runs"] = {
        "value": {
            "platform": "github",
            "repository": REPO,
            "sha": COMMIT,
            "runs": [{"name": "test", "status": "completed", "conclusion": "success", "source": "check-run"}],
        }
    }
    facts.write_text(json.dumps(data))
    args = ["--model", "churn@champion", "--platform", "github", "--facts-in", str(facts)]
    code, report = gate(repo, world.ref("good"), "release.*", capsys, None, *args)
    assert code == 0, report["results"]
    assert report["results"][0]["message"].startswith(f"commit {COMMIT[:12]} = MLflow run = image revision")
    data["facts"]["mlflow_model"]["value"]["run"]["tags"]["mlflow.source.git.commit"] = OTHER_COMMIT
    facts.write_text(json.dumps(data))
    code, report = gate(repo, world.ref("good"), "release.*", capsys, None, *args)
    assert code == 1
    assert violations(report["results"][0]) == f"MLflow run r1 commit: {OTHER_COMMIT}, not the gated commit {COMMIT}"


def test_release_traceability_names_unconfigured_sources(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["check", "--only", "release.*", "--commit", COMMIT, "--repo", str(repo), "--format", "json"],
        env={"HOME": str(repo)},
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 3
    assert report["results"][0]["message"] == (
        "not configured: set --model or target.model (NAME@ALIAS or NAME/VERSION); --image or target.image; "
        "--platform or target.platform; --repository or target.repository, or disable the check"
    )
