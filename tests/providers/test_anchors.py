"""Key files and trusted roots the policy names are relative to the policy file (DESIGN.md's contract for
`image.signature`'s `keys`), with the repository root as the fallback older policies rely on; on a pull/merge
request both are read from the target branch, never from the request."""

from __future__ import annotations

from pathlib import Path

from mlops_gate.providers import AnchorSource, Context, PolicyInUse, RunInputs
from mlops_gate.providers.oci import read_key
from mlops_gate.target import Target
from tests.support.git_repos import commit_all, git, make_repo

PEM = "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n"


def ctx(repo: Path, policy: Path | None, **target: str) -> Context:
    inputs = RunInputs(policy=PolicyInUse(files=(policy,) if policy else ()))
    return Context(root=repo, target=Target(**target), env={}, inputs=inputs)


def test_a_key_next_to_a_policy_in_a_subfolder_is_the_one_read(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    policy = tmp_path / "ci" / "gate.yml"
    policy.write_text("version: 1\n")
    (tmp_path / "ci" / "cosign.pub").write_text(PEM.format("next-to-the-policy"))
    (tmp_path / "cosign.pub").write_text(PEM.format("at-the-root"))
    key, _ = read_key(ctx(tmp_path, policy), "cosign.pub")
    assert key.error is None and "next-to-the-policy" in (key.pem or "")
    # a policy at the repository root, or a built-in profile: the root
    for where in (tmp_path / ".mlops-gate.yml", None):
        key, _ = read_key(ctx(tmp_path, where), "cosign.pub")
        assert "at-the-root" in (key.pem or "")


def test_the_repository_root_is_the_fallback_and_a_missing_key_names_both_places(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    policy = tmp_path / "ci" / "gate.yml"
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "release.pub").write_text(PEM.format("root-relative"))
    key, _ = read_key(ctx(tmp_path, policy), "keys/release.pub")
    assert "root-relative" in (key.pem or "")
    key, _ = read_key(ctx(tmp_path, policy), "keys/missing.pub")
    assert key.pem is None and "keys/missing.pub" in (key.error or "")
    assert "nor next to the policy file" in (key.error or "") and str(tmp_path / "ci") in (key.error or "")


def test_on_a_pull_request_the_key_next_to_the_policy_comes_from_the_target_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "checkout", "-q", "main")
    (repo / "ci").mkdir()
    (repo / "ci" / "gate.yml").write_text("version: 1\n")
    (repo / "ci" / "cosign.pub").write_text(PEM.format("main"))
    commit_all(repo, "key")
    main_commit = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "pr")
    (repo / "ci" / "cosign.pub").write_text(PEM.format("the-request"))  # the request swaps the key
    commit_all(repo, "swap the key")
    context = ctx(repo, repo / "ci" / "gate.yml", event="pull_request")
    context = Context(
        root=repo,
        target=context.target,
        env={},
        inputs=RunInputs(policy=context.inputs.policy, anchors=AnchorSource(repo, "main", main_commit)),
    )
    key, note = read_key(context, "cosign.pub")
    assert "main" in (key.pem or "") and "the-request" not in (key.pem or "")
    assert note == "ci/cosign.pub differs in the change under review: the copy on main is used"
