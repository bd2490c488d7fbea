"""Replaying an evidence bundle refuses one whose sealed content was edited."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_gate.cli import main

GOOD = Path(__file__).resolve().parents[1] / "examples" / "churn-model"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_tampered_facts_in_a_bundle_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(GOOD, repo)
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "r"], ["tag", "v1"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env={**os.environ, **GIT_ENV})
    bundle = tmp_path / "evidence.json"
    assert (
        main(
            [
                "audit",
                "--release",
                "v1",
                "--repo",
                str(repo),
                "--only",
                "image.base-pinned",
                "-q",
                "--evidence",
                str(bundle),
            ],
            env={},
        )
        == 0
    )
    capsys.readouterr()
    data = json.loads(bundle.read_text())
    data["facts"]["facts"]["dockerfiles"]["value"]["files"] = []  # hide the Dockerfile after the fact
    bundle.write_text(json.dumps(data))
    code = main(["check", "--facts-in", str(bundle), "--repo", str(tmp_path), "-q"], env={})
    err = capsys.readouterr().err
    assert code == 2
    assert "does not match its sha256 (tampered?)" in err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_resealed_signed_bundle_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from mlops_gate import evidence

    repo = tmp_path / "repo"
    shutil.copytree(GOOD, repo)
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "r"], ["tag", "v1"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env={**os.environ, **GIT_ENV})
    key = tmp_path / "key.pem"
    key.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    bundle = tmp_path / "evidence.json"
    assert (
        main(
            [
                "audit",
                "--release",
                "v1",
                "--repo",
                str(repo),
                "--only",
                "image.base-pinned",
                "-q",
                "--evidence",
                str(bundle),
                "--sign-key",
                str(key),
            ],
            env={},
        )
        == 0
    )
    capsys.readouterr()
    data = json.loads(bundle.read_text())
    data["facts"]["facts"]["dockerfiles"]["value"]["files"] = []
    data["sha256"] = evidence.digest(data)  # consistent again, but no longer what was signed
    bundle.write_text(json.dumps(data))
    code = main(["check", "--facts-in", str(bundle), "--repo", str(tmp_path), "-q"], env={})
    assert code == 2 and "the signature covers another bundle" in capsys.readouterr().err
