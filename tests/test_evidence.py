"""audit --release TAG, evidence bundles, DSSE signatures, verify-evidence, and replaying a bundle."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mlops_gate import evidence
from mlops_gate.cli import main
from tests.support.git_repos import GOOD, POLICY, commit_all, git, make_repo
from tests.support.keys import CHECKS, write_keys

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2
IMAGE = "registry.example.com/ml/churn:1.0@sha256:" + "ab" * 32


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = make_repo(tmp_path / "repo")
    git(r, "checkout", "-q", "main")
    git(r, "tag", "-a", "v1.2.0", "-m", "release 1.2.0")
    return r


def run(capsys: pytest.CaptureFixture[str], *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    code = main(list(argv), env=env or {})
    out, err = capsys.readouterr()
    return code, out, err


def audit(
    capsys: pytest.CaptureFixture[str], repo: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    return run(
        capsys,
        "audit",
        "--release",
        "v1.2.0",
        "--repo",
        str(repo),
        "--only",
        CHECKS,
        "--format",
        "json",
        *extra,
        env=env,
    )


@pytest.mark.parametrize("kind", ["ec", "ed25519", "rsa"])
def test_bundle_round_trip(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    priv, pub = write_keys(tmp_path, kind)
    bundle_path = tmp_path / "evidence.json"
    code, out, _ = audit(capsys, repo, "--evidence", str(bundle_path), "--sign-key", str(priv))
    assert code == 0, out
    bundle = json.loads(bundle_path.read_text())
    sha = git(repo, "rev-parse", "v1.2.0^{commit}")
    assert bundle["release"] == {"tag": "v1.2.0", "commit": sha, "repository": "acme/churn-model"}
    assert bundle["sha256"] == evidence.digest(bundle)
    assert bundle["report"] == {**json.loads(out), "duration_s": bundle["report"]["duration_s"]}
    assert bundle["policy"]["digest"] and bundle["policy"]["applied"]["fail_on"] == "high"
    assert bundle["facts"]["facts"]["ci_config"]["sources"]

    code, out, _ = run(capsys, "verify-evidence", str(bundle_path), "--key", str(pub))
    assert code == 0 and "valid: intact" in out and "verdict pass" in out
    assert "authenticated; release v1.2.0" in out and "facts read live" in out
    code, out, _ = run(capsys, "verify-evidence", str(bundle_path))
    assert code == 0 and "its signed statement matches it" in out
    assert "signature UNAUTHENTICATED: not checked against a key" in out and "signed by" not in out


def test_tampering_and_wrong_keys_are_caught(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    priv, pub = write_keys(tmp_path, "ec")
    _, other_pub = write_keys(tmp_path / "..", "ed25519")
    bundle_path = tmp_path / "evidence.json"
    audit(capsys, repo, "--evidence", str(bundle_path), "--sign-key", str(priv))
    original = bundle_path.read_text()

    tampered = json.loads(original)
    tampered["report"]["verdict"] = "fail"
    bundle_path.write_text(json.dumps(tampered))
    code, out, _ = run(capsys, "verify-evidence", str(bundle_path), "--key", str(pub))
    assert code == 1 and "TAMPERED" in out

    one_byte = original.replace('"ci.pr-pipeline"', '"ci.pr-pipelinf"', 1)
    bundle_path.write_text(one_byte)
    assert run(capsys, "verify-evidence", str(bundle_path))[0] == 1

    bundle_path.write_text(original)
    code, out, _ = run(capsys, "verify-evidence", str(bundle_path), "--key", str(other_pub))
    assert code == 1 and "INVALID SIGNATURE: it does not verify with" in out

    resealed = json.loads(original)  # a consistent sha256 over edited content: the signed statement catches it
    resealed["report"]["summary"]["passed"] = 99
    resealed["sha256"] = evidence.digest(resealed)
    bundle_path.write_text(json.dumps(resealed))
    code, out, _ = run(capsys, "verify-evidence", str(bundle_path))  # no key needed to see the mismatch
    assert code == 1 and "the signature covers another bundle (edited and resealed?)" in out
    code, out, _ = run(capsys, "verify-evidence", str(bundle_path), "--key", str(pub))
    assert code == 1 and "valid but for another bundle" in out

    unsigned = json.loads(original)
    del unsigned["signature"]
    bundle_path.write_text(json.dumps(unsigned))
    code, out, _ = run(capsys, "verify-evidence", str(bundle_path), "--key", str(pub))
    assert code == 1 and "not signed" in out


def test_rsa_pkcs1v15_signatures_verify_too(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """mlops-gate signs RSA with PSS; an envelope re-signed elsewhere with PKCS#1 v1.5 (cosign's RSA) verifies."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from mlops_gate import signing

    priv, pub = write_keys(tmp_path, "rsa")
    bundle_path = tmp_path / "evidence.json"
    audit(capsys, repo, "--evidence", str(bundle_path), "--sign-key", str(priv))
    bundle = json.loads(bundle_path.read_text())
    key: Any = serialization.load_pem_private_key(priv.read_bytes(), None)
    message = signing.pae(evidence.PAYLOAD_TYPE, base64.b64decode(bundle["signature"]["payload"]))
    pkcs1 = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    bundle["signature"]["signatures"] = [{"keyid": signing.key_id(key), "sig": base64.b64encode(pkcs1).decode()}]
    bundle_path.write_text(json.dumps(bundle))
    code, out, _ = run(capsys, "verify-evidence", str(bundle_path), "--key", str(pub))
    assert code == 0 and "valid: intact" in out and f"keyid {signing.key_id(key)}" in out


def test_signed_statement_is_in_toto(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    priv, _ = write_keys(tmp_path, "ed25519")
    bundle_path = tmp_path / "evidence.json"
    audit(capsys, repo, "--evidence", str(bundle_path), "--sign-key", str(priv), "--image", IMAGE)
    bundle = json.loads(bundle_path.read_text())
    env = bundle["signature"]
    assert env["payloadType"] == "application/vnd.in-toto+json" and len(env["signatures"]) == 1
    stmt = json.loads(base64.b64decode(env["payload"]))
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    assert stmt["predicateType"] == "https://mlops-gate.dev/attestation/decision/v1"
    assert stmt["subject"] == [
        {"name": "git+acme/churn-model@v1.2.0", "digest": {"gitCommit": bundle["release"]["commit"]}},
        {"name": "registry.example.com/ml/churn", "digest": {"sha256": "ab" * 32}},
    ]
    pred = stmt["predicate"]
    assert pred["verdict"] == "pass" and pred["bundle"] == {"sha256": bundle["sha256"]}
    assert pred["policy"]["digest"] == bundle["policy"]["digest"] and pred["blocking"] == []


def test_bundle_replays_the_verdict_offline(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "Dockerfile").write_text("FROM python:3.11-slim\n")  # unpinned: blocks at fail_on low
    (repo / POLICY).write_text((repo / POLICY).read_text().replace("fail_on: high", "fail_on: low"))
    commit_all(repo)
    git(repo, "tag", "v1.2.1")  # lightweight
    bundle_path = tmp_path / "evidence.json"
    code, out, _ = run(
        capsys,
        "audit",
        "--release",
        "v1.2.1",
        "--repo",
        str(repo),
        "--only",
        CHECKS,
        "--format",
        "json",
        "--evidence",
        str(bundle_path),
    )
    assert code == 1
    first = json.loads(out)
    # later: the repository's policy changed; the bundle alone decides. `check` needs no checkout at all;
    # `audit` still resolves the tag with git (a decision is never made for a tag that does not exist)
    (repo / POLICY).write_text("version: 1\nextends: default\nfail_on: critical\n")
    for command in (("audit", "--release", "v1.2.1", "--repo", str(repo)), ("check", "--repo", str(tmp_path / "gone"))):
        code, out, _ = run(capsys, *command, "--facts-in", str(bundle_path), "--format", "json")
        again = json.loads(out)
        assert (again["facts_source"], again["facts_file"]) == ("replayed", str(bundle_path))
        assert code == 1 and again["verdict"] == first["verdict"] == "fail"
        assert [(r["check"], r["subject"], r["status"]) for r in again["results"]] == [
            (r["check"], r["subject"], r["status"]) for r in first["results"]
        ]
        assert again["target"]["commit"] == git(repo, "rev-parse", "v1.2.1")
    code, _, err = run(capsys, "audit", "--release", "v9", "--facts-in", str(bundle_path))
    assert code == 2 and "records the release v1.2.1" in err


def test_a_bundle_never_contains_a_token(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / POLICY).write_text(
        (GOOD / POLICY).read_text()
        + (
            "waivers:\n  - check: image.base-pinned\n    owner: '@me'\n"
            f"    reason: 'pasted by mistake {TOKEN}'\n    expires: 2999-01-01\n"
        )
    )
    commit_all(repo)
    git(repo, "tag", "-f", "-a", "v1.2.0", "-m", "again")
    bundle_path = tmp_path / "evidence.json"
    env = {"GITHUB_TOKEN": TOKEN, "MY_SERVICE_TOKEN": "s3cr3t-value-42"}
    audit(capsys, repo, "--evidence", str(bundle_path), "--model", "churn@s3cr3t-value-42", env=env)
    text = bundle_path.read_text()
    assert TOKEN not in text and "s3cr3t-value-42" not in text and "***" in text
    assert run(capsys, "verify-evidence", str(bundle_path))[0] == 0


def test_release_tag_resolution(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sha = git(repo, "rev-parse", "v1.2.0^{commit}")
    assert git(repo, "rev-parse", "v1.2.0") != sha  # annotated: the tag object is not the commit
    code, out, _ = audit(capsys, repo)
    assert code == 0 and json.loads(out)["target"]["commit"] == sha
    assert audit(capsys, repo, "--commit", sha[:10])[0] == 0
    code, _, err = audit(capsys, repo, "--commit", "0" * 40)
    assert code == 2 and "is not the commit of --release v1.2.0" in err
    code, _, err = run(capsys, "audit", "--release", "v0.0.9", "--repo", str(repo))
    assert code == 2 and "--release v0.0.9: no such tag" in err and "git fetch --tags" in err
    plain = tmp_path / "plain"
    plain.mkdir()
    code, _, err = run(capsys, "audit", "--release", "v1.2.0", "--repo", str(plain))
    assert code == 2 and "is not a git repository" in err


def test_audit_defaults_to_strict_only_without_a_policy(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert json.loads(audit(capsys, repo)[1])["fail_on"] == "high"  # the repository's policy says so
    (repo / POLICY).unlink()
    assert json.loads(audit(capsys, repo)[1])["fail_on"] == "medium"  # no policy: the strict profile


def test_usage_errors(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    priv, _ = write_keys(tmp_path, "ec")
    code, _, err = audit(capsys, repo, "--sign-key", str(priv))
    assert code == 2 and "give --evidence FILE too" in err
    (tmp_path / "bad.pem").write_text("not a key")
    code, _, err = audit(capsys, repo, "--evidence", str(tmp_path / "e.json"), "--sign-key", str(tmp_path / "bad.pem"))
    assert code == 2 and "not a usable PEM private key" in err and not (tmp_path / "e.json").exists()
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "p384.pem").write_bytes(p384)
    code, _, err = audit(capsys, repo, "--evidence", str(tmp_path / "e.json"), "--sign-key", str(tmp_path / "p384.pem"))
    assert code == 2 and "must be P-256" in err
    code, _, err = run(capsys, "verify-evidence", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err
    (tmp_path / "facts.json").write_text((GOOD / "facts.json").read_text())
    code, _, err = run(capsys, "verify-evidence", str(tmp_path / "facts.json"))
    assert code == 2 and "not an mlops-gate evidence bundle" in err
    code, _, err = run(capsys, "verify-evidence", str(tmp_path / "facts.json"), "--key", str(tmp_path / "bad.pem"))
    assert code == 2


def test_encrypted_sign_key_takes_its_passphrase_from_the_environment(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"hunter22-pass"),
    )
    (tmp_path / "enc.pem").write_bytes(pem)
    args = ("--evidence", str(tmp_path / "e.json"), "--sign-key", str(tmp_path / "enc.pem"))
    assert audit(capsys, repo, *args)[0] == 2
    env = {evidence.KEY_PASSWORD_ENV: "hunter22-pass"}
    assert audit(capsys, repo, *args, env=env)[0] == 0
    code, _, _ = run(capsys, "verify-evidence", str(tmp_path / "e.json"), "--key", str(tmp_path / "enc.pem"), env=env)
    assert code == 2  # --key takes a public key (or an unencrypted private one)
