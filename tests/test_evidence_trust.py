"""Evidence and replay under attack: tampered and resealed bundles, altered envelopes, swapped payloads,
replays judged against another commit or target, audits of tags that do not exist, hostile JSON."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization

from mlops_gate import evidence, signing
from mlops_gate.cli import main
from tests.support.git_repos import commit_all, git, make_repo
from tests.support.keys import CHECKS, write_keys


def run(capsys: pytest.CaptureFixture[str], *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    code = main(list(argv), env=env or {})
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = make_repo(tmp_path / "repo")
    git(r, "checkout", "-q", "main")
    git(r, "tag", "-a", "v1.2.0", "-m", "release 1.2.0")
    return r


@pytest.fixture
def signed(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """A bundle signed by the release key, with the paths of that key's halves."""
    priv, pub = write_keys(tmp_path, "ec")
    path = tmp_path / "evidence.json"
    code, _, _ = run(
        capsys,
        "audit",
        "--release",
        "v1.2.0",
        "--repo",
        str(repo),
        "--only",
        CHECKS,
        "-q",
        "--evidence",
        str(path),
        "--sign-key",
        str(priv),
    )
    assert code == 0
    return {
        "path": path,
        "priv": priv,
        "pub": pub,
        "data": json.loads(path.read_text()),
        "commit": git(repo, "rev-parse", "v1.2.0^{commit}"),
    }


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


def reseal(data: dict[str, Any]) -> dict[str, Any]:
    data["sha256"] = evidence.digest(data)
    return data


def resign(data: dict[str, Any], key_path: Path) -> dict[str, Any]:
    """What an attacker with a key of their own does after editing a bundle: reseal, then sign again."""
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    unsigned = {k: v for k, v in reseal(data).items() if k != "signature"}
    return evidence.sign(unsigned, key)


def verify(capsys: pytest.CaptureFixture[str], path: Path, key: Path | None = None) -> tuple[int, str]:
    code, out, err = run(capsys, "verify-evidence", str(path), *(["--key", str(key)] if key else []))
    return code, out + err


# --- verify-evidence without a key checks everything it can, and never says "signed" -----------------


def test_intact_signed_bundle_without_key_is_unauthenticated(
    signed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(capsys, signed["path"])
    assert code == 0
    assert f"release v1.2.0 at {signed['commit']}, verdict pass; facts read live" in out
    assert "its signed statement matches it" in out and "signature UNAUTHENTICATED" in out
    assert "signed by" not in out and "valid:" not in out
    code, out = verify(capsys, signed["path"], signed["pub"])
    assert code == 0 and "and signed by" in out and ": authenticated;" in out


def test_resealed_bundle_whose_signature_covers_another_digest_fails_without_key(
    signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = signed["data"]
    original_sha = data["sha256"]
    data["facts"]["facts"]["dockerfiles"]["value"]["files"] = []  # hide the Dockerfile, then reseal
    path = write(tmp_path / "resealed.json", reseal(data))
    code, out = verify(capsys, path)
    assert code == 1
    assert out.strip() == (
        f"{path}: INVALID: the signature covers another bundle (edited and resealed?): "
        f"the signed statement names sha256 {original_sha}"
    )
    code, out = verify(capsys, path, signed["pub"])
    assert code == 1 and "the signature is valid but for another bundle" in out


def test_an_attacker_who_re_signs_with_their_own_key_is_only_unauthenticated(
    signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mallory, _ = write_keys(tmp_path / "..", "ed25519")
    data = signed["data"]
    data["facts"]["facts"]["dockerfiles"]["value"]["files"] = []
    path = write(tmp_path / "forged.json", resign(data, mallory))
    code, out = verify(capsys, path)
    assert code == 0 and "UNAUTHENTICATED" in out and "keyid claimed:" in out and "signed by" not in out
    code, out = verify(capsys, path, signed["pub"])
    assert code == 1 and f"INVALID SIGNATURE: it does not verify with {signed['pub']}" in out


BAD_SIGNATURE = "INVALID SIGNATURE: it does not verify with"


def _envelope_cases(data: dict[str, Any], other: dict[str, Any]) -> dict[str, tuple[Any, str, str]]:
    """case -> (envelope, what verify-evidence says without a key, and with the signer's key)."""
    env = data["signature"]
    stmt = json.loads(base64.b64decode(env["payload"]))
    flipped = {**stmt, "predicate": {**stmt["predicate"], "verdict": "fail"}}
    other_sha = f"the signed statement names sha256 {other['sha256']}"
    return {
        "payload type": ({**env, "payloadType": "text/plain"}, "payloadType 'text/plain'", "payloadType"),
        "no signatures": ({**env, "signatures": []}, "no signatures", "no signatures"),
        "sig not base64": ({**env, "signatures": [{"keyid": "k", "sig": "%%%"}]}, "not base64", "not base64"),
        "payload not base64": ({**env, "payload": "not base64!"}, "not base64", "not base64"),
        "extra key": ({**env, "note": "trust me"}, "unknown keys note", "unknown keys note"),
        "not an object": ("signed", "not an object", "not an object"),
        # another bundle's envelope, signature and all: valid, but not for this bundle
        "envelope swapped": (other["signature"], other_sha, f"valid but for another bundle: {other_sha}"),
        "payload swapped": ({**env, "payload": other["signature"]["payload"]}, other_sha, BAD_SIGNATURE),
        "verdict flipped": (
            {**env, "payload": base64.b64encode(json.dumps(flipped).encode()).decode()},
            "the signed statement's predicate.verdict differs from the bundle's",
            BAD_SIGNATURE,
        ),
        "payload not JSON": (
            {**env, "payload": base64.b64encode(b"[[[[").decode()},
            "the signed payload is not JSON",
            BAD_SIGNATURE,
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "payload type",
        "no signatures",
        "sig not base64",
        "payload not base64",
        "extra key",
        "not an object",
        "envelope swapped",
        "payload swapped",
        "verdict flipped",
        "payload not JSON",
    ],
)
def test_altered_envelopes_fail_with_and_without_key(
    signed: dict[str, Any], repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    other = tmp_path / "other.json"  # the same release, signed again by the same key: another bundle
    assert (
        run(
            capsys,
            "audit",
            "--release",
            "v1.2.0",
            "--repo",
            str(repo),
            "--only",
            "ci.pr-pipeline",
            "-q",
            "--evidence",
            str(other),
            "--sign-key",
            str(signed["priv"]),
        )[0]
        == 0
    )
    envelope, unkeyed, keyed = _envelope_cases(signed["data"], json.loads(other.read_text()))[case]
    path = write(tmp_path / "altered.json", {**signed["data"], "signature": envelope})
    code, out = verify(capsys, path)
    assert code == 1 and out.startswith(f"{path}: INVALID") and unkeyed in out, out
    code, out = verify(capsys, path, signed["pub"])
    assert code == 1 and keyed in out, out
    code, _, err = run(capsys, "check", "--facts-in", str(path), "-q")  # nor does a replay take it
    assert code == 2 and unkeyed in err


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["report"].update(
                verdict="pass", results=[{**r, "status": "failed", "blocking": True} for r in d["report"]["results"]]
            ),
            "the report's verdict is pass but its results make it fail",
        ),
        (lambda d: d["target"].update(commit="0" * 40), f"target.commit {'0' * 40} is not the release commit"),
        (lambda d: d["facts"]["target"].update(release="v9"), "facts.target.release v9 is not the release v1.2.0"),
        (
            lambda d: d["policy"]["applied"].update(fail_on="critical"),
            "the policy as applied does not match its digest",
        ),
        (lambda d: d.update(facts_source="replayed"), "facts_source is neither live nor replayed from a file"),
        (lambda d: d["release"].pop("commit"), "release.tag or release.commit is missing"),
    ],
)
def test_resealed_unsigned_bundles_whose_parts_disagree_are_invalid(
    signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, expected: str
) -> None:
    data = {k: v for k, v in signed["data"].items() if k != "signature"}
    edit(data)
    path = write(tmp_path / "edited.json", reseal(data))
    code, out = verify(capsys, path)
    assert code == 1 and "INVALID" in out and expected in out
    code, _, err = run(capsys, "check", "--facts-in", str(path), "-q")
    assert code == 2 and expected in err


def test_unsigned_bundle(signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "unsigned.json", {k: v for k, v in signed["data"].items() if k != "signature"})
    code, out = verify(capsys, path)
    assert code == 0 and "not signed: UNAUTHENTICATED" in out
    code, out = verify(capsys, path, signed["pub"])
    assert code == 1 and "INVALID: intact but not signed" in out


# --- exit 2 for what is not a bundle at all: never a traceback, never exit 3 ------------------------


def test_hostile_files_are_usage_errors(
    tmp_path: Path, signed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    nested = tmp_path / "nested.json"  # under the parser's recursion limit, over the gate's nesting bound
    nested.write_text(json.dumps({"kind": "mlops-gate/evidence", "x": json.loads("[" * 300 + "]" * 300)}))
    big = tmp_path / "big.json"
    with big.open("wb") as fh:
        fh.truncate(33 * 1024 * 1024)
    surrogate = tmp_path / "surrogate.json"
    surrogate.write_text('{"kind": "mlops-gate/evidence", "schema_version": 1, "x": "\\ud800"}')
    newer = write(tmp_path / "newer.json", {**signed["data"], "schema_version": 2})
    cases = {
        deep: "is nested deeper than 200 levels",
        nested: "is nested deeper than 200 levels",
        big: "is larger than 32 MiB",
        surrogate: "is not text: it holds a lone UTF-16 surrogate",
        tmp_path: "is not a regular file",
        tmp_path / "missing.json": "cannot read",
        newer: "evidence schema_version 2; this mlops-gate reads 1",
    }
    for path, expected in cases.items():
        code, out, err = run(capsys, "verify-evidence", str(path))
        assert (code, out) == (2, ""), path
        assert err.startswith(f"mlops-gate: error: {path}") and expected in err, err
        if path != newer:
            code, _, err = run(capsys, "check", "--facts-in", str(path), "-q")
            assert code == 2 and expected in err and err.startswith("mlops-gate: error: --facts-in:"), err
    (tmp_path / "key.pem").write_bytes(b"A" * (2 * 1024 * 1024))
    code, _, err = run(capsys, "verify-evidence", str(signed["path"]), "--key", str(tmp_path / "key.pem"))
    assert code == 2 and "larger than 1024 KiB: not a PEM key" in err


def test_what_a_bundle_says_cannot_rewrite_the_terminal_line(
    signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {k: v for k, v in signed["data"].items() if k != "signature"}
    data["release"]["tag"] = "v1.2.0\r\x1b[2Kvalid: signed by the release key"
    data["facts"]["target"]["release"] = data["target"]["release"] = data["report"]["target"]["release"] = data[
        "release"
    ]["tag"]
    path = write(tmp_path / "x\x1b[31m.json", reseal(data))
    code, out = verify(capsys, path)
    assert code == 0 and "\x1b" not in out and "\r" not in out
    assert "x\\x1b[31m.json" in out and "v1.2.0\\r\\x1b[2Kvalid" in out


# --- replays state what they are, and judge only what was recorded ---------------------------------


def test_replayed_reports_and_bundles_say_so(
    signed: dict[str, Any], repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = str(signed["path"])
    md, js = tmp_path / "r.md", tmp_path / "r.json"
    code, out, _ = run(
        capsys,
        "check",
        "--facts-in",
        bundle,
        "--output",
        f"markdown={md}",
        "--output",
        f"json={js}",
        "--facts-out",
        str(tmp_path / "again.json"),
    )
    assert code == 0
    line = f"Facts replayed from {bundle}: nothing was read live for this report."
    assert " ".join(out.split()).startswith(line)  # the console says it first
    header = md.read_text().splitlines()[2]  # under the verdict headline
    assert header.startswith("> **Facts replayed from ") and header.endswith("nothing was read live for this report.**")
    report = json.loads(js.read_text())
    assert (report["facts_source"], report["facts_file"]) == ("replayed", bundle)
    schema = json.loads((Path(evidence.__file__).parent / "schemas" / "report-v1.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    with pytest.raises(jsonschema.ValidationError):  # replayed says from which file
        jsonschema.Draft202012Validator(schema).validate({**report, "facts_file": None})
    again = json.loads((tmp_path / "again.json").read_text())
    assert (again["facts_source"], again["facts_file"]) == ("replayed", bundle)

    replayed = tmp_path / "replayed-evidence.json"
    code, _, _ = run(
        capsys,
        "audit",
        "--release",
        "v1.2.0",
        "--repo",
        str(repo),
        "--facts-in",
        bundle,
        "-q",
        "--evidence",
        str(replayed),
        "--sign-key",
        str(signed["priv"]),
    )
    assert code == 0
    data = json.loads(replayed.read_text())
    assert (data["facts_source"], data["facts_file"]) == ("replayed", bundle)
    assert data["report"]["facts_source"] == "replayed"
    stmt = json.loads(base64.b64decode(data["signature"]["payload"]))
    assert stmt["predicate"]["facts"] == {"source": "replayed", "file": bundle}  # signed too
    code, out = verify(capsys, replayed, signed["pub"])
    assert code == 0 and f"facts replayed from {bundle}" in out
    assert signed["data"]["facts_source"] == "live" and signed["data"]["facts_file"] is None


def test_replay_judged_as_another_commit_or_target_is_refused(
    signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, commit = str(signed["path"]), signed["commit"]
    other = "f" * 40
    ci = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/churn-model",
        "GITHUB_SHA": other,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_EVENT_NAME": "push",
    }
    code, _, err = run(capsys, "check", "--facts-in", bundle, "-q", env=ci)  # CI judges another commit
    assert code == 2
    assert f"--facts-in: {bundle} records the commit {commit}, but this run judges {other}" in err
    assert run(capsys, "check", "--facts-in", bundle, "-q", env={**ci, "GITHUB_SHA": commit})[0] == 0
    assert run(capsys, "check", "--facts-in", bundle, "-q", "--commit", commit[:10])[0] == 0  # abbreviated
    for flag, value, name in (("--commit", other, "commit"), ("--repository", "evil/fork", "repository")):
        code, _, err = run(capsys, "check", "--facts-in", bundle, "-q", flag, value)
        assert code == 2 and f"--facts-in: {bundle} records the {name} " in err
        assert f", but this run judges {value}" in err
    example = Path(__file__).resolve().parents[1] / "examples" / "churn-model"  # records branch and model
    for flag, value, name in (("--branch", "feature", "branch main"), ("--model", "churn@challenger", "model")):
        code, _, err = run(
            capsys, "check", "--repo", str(example), "--facts-in", str(example / "facts.json"), "-q", flag, value
        )
        assert code == 2 and f"records the {name}" in err and f"but this run judges {value}" in err
    # in a pull request a replay is judged as a live run would be: by the target branch's policy, read with git
    # (review finding 8); in a clone that does not hold the target branch (only the request's own) it cannot be,
    # and fails closed
    clone = tmp_path / "clone"
    clone.mkdir()
    git(clone, "init", "-q", "-b", "feature")
    (clone / "README.md").write_text("a pull request's branch only\n")
    commit_all(clone, "feature only")
    code, _, err = run(
        capsys,
        "check",
        "--repo",
        str(clone),
        "--facts-in",
        bundle,
        "-q",
        env={**ci, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_BASE_REF": "main", "GITHUB_HEAD_REF": "feature"},
    )
    assert code == 3 and "the target branch main is not in the clone" in err, err
    # naming the recorded target with flags is replaying it on purpose: flags win over detection
    assert run(capsys, "check", "--facts-in", bundle, "-q", "--commit", commit, env=ci)[0] == 0


def test_a_facts_file_whose_target_alone_was_edited_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "churn-model"
    data = json.loads((example / "facts.json").read_text())
    recorded = data["facts"]["commit_runs"]["value"]["sha"]
    data["target"]["commit"] = "e" * 40  # the runs stay those of the recorded commit
    path = write(tmp_path / "facts.json", data)
    code, _, err = run(capsys, "check", "--repo", str(example), "--facts-in", str(path), "-q")
    assert code == 2
    assert f"facts.commit_runs were read for the commit {recorded}, not the commit judged ({'e' * 40})" in err


def test_image_replay_accepts_the_same_digest_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "churn-model"
    digest = "sha256:" + "ab" * 32
    data = json.loads((example / "facts.json").read_text())
    data["target"]["image"] = f"registry.example.com/ml/churn:1.0@{digest}"
    path = write(tmp_path / "facts.json", data)
    args = ("check", "--repo", str(example), "--facts-in", str(path), "-q", "--only", "ci.pr-pipeline")
    assert run(capsys, *args, "--image", f"registry.example.com/ml/churn@{digest}")[0] == 0
    code, _, err = run(capsys, *args, "--image", f"registry.example.com/ml/churn@sha256:{'cd' * 32}")
    assert code == 2 and "records the image registry.example.com/ml/churn:1.0@" in err


def test_audit_refuses_a_tag_that_does_not_resolve_even_when_replaying(
    signed: dict[str, Any], repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = signed["path"]
    data = json.loads(bundle.read_text())
    data = {k: v for k, v in data.items() if k != "signature"}
    for where in (data["target"], data["report"]["target"], data["facts"]["target"]):
        where["release"] = "v9.9.9"
    data["release"]["tag"] = "v9.9.9"
    forged = write(tmp_path / "forged.json", reseal(data))
    out_bundle = tmp_path / "decision.json"
    code, _, err = run(
        capsys,
        "audit",
        "--release",
        "v9.9.9",
        "--repo",
        str(repo),
        "--facts-in",
        str(forged),
        "--evidence",
        str(out_bundle),
        "--sign-key",
        str(signed["priv"]),
        "-q",
    )
    assert code == 2 and "--release v9.9.9: no such tag" in err and not out_bundle.exists()
    plain = tmp_path / "plain"
    plain.mkdir()
    code, _, err = run(
        capsys,
        "audit",
        "--release",
        "v1.2.0",
        "--repo",
        str(plain),
        "--facts-in",
        str(bundle),
        "--evidence",
        str(out_bundle),
        "-q",
    )
    assert code == 2 and "is not a git repository" in err and not out_bundle.exists()
    # the tag exists but points elsewhere than the recorded commit
    (repo / "README.md").write_text("moved\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "moved")
    git(repo, "tag", "-f", "-a", "v1.2.0", "-m", "moved")
    moved = git(repo, "rev-parse", "v1.2.0^{commit}")
    code, _, err = run(
        capsys,
        "audit",
        "--release",
        "v1.2.0",
        "--repo",
        str(repo),
        "--facts-in",
        str(bundle),
        "--evidence",
        str(out_bundle),
        "-q",
    )
    assert code == 2 and not out_bundle.exists()
    assert (
        f"--release v1.2.0 is the commit {moved} in {repo}, but {bundle} records the commit {signed['commit']}" in err
    )


def test_keyid_in_the_envelope_is_the_signers(signed: dict[str, Any]) -> None:
    key = serialization.load_pem_public_key(signed["pub"].read_bytes())
    assert signed["data"]["signature"]["signatures"][0]["keyid"] == signing.key_id(key)
