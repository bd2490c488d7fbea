"""What the keyless checks read besides the image: trusted roots (trust anchors: on a pull/merge request from the
target branch, never from the request; the public-good root from the installed sigstore package, never the
network or a cache under $HOME) and GitHub's raw-Snappy bundle blobs, decoded with bounds."""

from __future__ import annotations

import json
from pathlib import Path

import cramjam
import pytest

from mlops_gate.providers import AnchorSource, Context, RunInputs
from mlops_gate.providers._snappy import SnappyError, decompress
from mlops_gate.providers.oci import read_root
from mlops_gate.target import Target
from tests.support.git_repos import commit_all, git, make_repo

ROOT_FILE = "sigstore/root.json"


def test_a_trusted_root_replaced_in_a_pull_request_is_read_from_the_target_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "checkout", "-q", "main")
    (repo / "sigstore").mkdir()
    (repo / ROOT_FILE).write_text('{"trusted": "main"}')
    commit_all(repo, "root")
    main_commit = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "pr")
    (repo / ROOT_FILE).write_text('{"trusted": "the request"}')  # the request swaps the root it would be judged by
    commit_all(repo, "swap the root")
    ctx = Context(
        root=repo,
        target=Target(event="pull_request"),
        env={},
        inputs=RunInputs(anchors=AnchorSource(repo, "main", main_commit)),
    )
    got, note = read_root(ctx, ROOT_FILE)
    assert got.text == '{"trusted": "main"}' and got.source == f"git main:{ROOT_FILE}"
    assert note == f"{ROOT_FILE} differs in the change under review: the copy on main is used"
    got, _ = read_root(ctx, "sigstore/added.json")
    assert got.text is None and "merge the trusted root through a pull/merge request of its own first" in (
        got.error or ""
    )


def test_the_public_good_root_comes_from_the_installed_package(tmp_path: Path) -> None:
    got, note = read_root(Context(root=tmp_path, target=Target(), env={}), "public-good")
    assert note is None and got.error is None and got.source.startswith("sigstore 4.")
    doc = json.loads(got.text or "")
    assert doc["mediaType"] == "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    assert any("rekor.sigstore.dev" in t["baseUrl"] for t in doc["tlogs"])
    assert not (tmp_path / ".cache").exists()


@pytest.mark.parametrize(
    "data", [b"", b"x" * 5000, json.dumps({"mediaType": "bundle", "n": list(range(500))}).encode()]
)
def test_raw_snappy_round_trips_with_a_real_compressor(data: bytes) -> None:
    assert decompress(bytes(cramjam.snappy.compress_raw(data)), 1 << 20) == data


@pytest.mark.parametrize(
    ("blob", "why"),
    [
        (b"\xff\xff\xff\xff\x7f", "more than"),  # declares 32 GiB
        (bytes(cramjam.snappy.compress_raw(b"a" * 100))[:-1], "truncated"),
        (b"\x05\x00a", "shorter than its declared length"),
        (b"\x05\x09\x00", "before the start"),  # a copy with nothing to copy from
        (b"\x80", "preamble"),
    ],
)
def test_snappy_refuses_what_is_not_raw_snappy_or_too_large(blob: bytes, why: str) -> None:
    with pytest.raises(SnappyError, match=why):
        decompress(blob, 1 << 20)
