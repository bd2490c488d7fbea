"""`mlops-gate fleet --files`: the checks that read files, judged on each repository's default branch head fetched
as an archive through the platform's API (GitHub tarball behind a redirect, GitLab archive.tar.gz, Azure DevOps
items zip), with the real SDK-free transport against the replay server (tests/support/fleet_org.py and
fleet_files.py). The token stays on the API host; what cannot be unpacked safely or exceeds the cap is an error."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import mlops_gate
from mlops_gate.cli import main
from tests.support import azure_devops, fleet_files, fleet_org
from tests.support.replay import ReplayServer

N = 12
TOKEN = "t0ken-fleet-files"
ENV = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "azure": "AZURE_DEVOPS_TOKEN"}
OWNER = {"github": "acme", "gitlab": "acme", "azure": "contoso/ml"}


@pytest.fixture(scope="module")
def codeload() -> Iterator[ReplayServer]:
    """Another origin, as codeload.github.com is to api.github.com."""
    server = ReplayServer(resolver=fleet_org.github(N)).start()
    yield server
    server.stop()


def serve(platform: str, codeload: ReplayServer | None = None, **kw: Any) -> ReplayServer:
    if platform == "github":
        resolver = fleet_org.github(N, codeload=codeload.url if codeload else "{url}")
    else:
        resolver = {"gitlab": fleet_org.gitlab, "azure": fleet_org.azure}[platform](N)
    server = ReplayServer(resolver=kw.get("wrap", lambda r: r)(resolver), etags=True).start()
    if platform == "azure":
        azure_devops.serve_discovery(server)
        server.add("GET", azure_devops.ACLS, 200, azure_devops.collection([]))
    return server


def fleet(platform: str, server: ReplayServer, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    api = server.url + ("/contoso/" if platform == "azure" else "")
    argv = ["fleet", "--platform", platform, "--owner", OWNER[platform], "--api-url", api, "-q", "--files"]
    rc = main([*argv, *extra, "--output", f"json={out}"], {ENV[platform]: TOKEN})
    return rc, json.loads(out.read_text())


def statuses(entry: dict[str, Any]) -> dict[str, str]:
    return {r["check"]: r["status"] for r in entry["results"]}


@pytest.mark.parametrize("platform", ["github", "gitlab", "azure"])
def test_file_checks_judge_the_default_branch_head(platform: str, codeload: ReplayServer, tmp_path: Path) -> None:
    server = serve(platform, codeload)
    try:
        rc, data = fleet(platform, server, tmp_path / "f.json", "--include", "*model-000[0-5]")
    finally:
        server.stop()
    assert rc == 1
    schema = json.loads((Path(mlops_gate.__file__).parent / "schemas" / "fleet-report-v1.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    assert {"image.base-pinned", "ci.pr-pipeline", "image.digest-pinned"} <= set(data["checks"])
    assert "policy.unchanged" not in data["checks"]  # nothing to compare a default branch with
    by_index = {int(r["name"][-4:]): r for r in data["repositories"]}
    assert sorted(by_index) == [0, 1, 2, 3, 4, 5]
    for i, entry in by_index.items():
        assert entry["status"] == "judged", entry
        got = statuses(entry)
        assert got["image.base-pinned"] == ("failed" if i % 3 == 0 else "passed"), (i, entry)
        assert got["ci.pr-pipeline"] == "passed" and got["image.digest-pinned"] == "passed"
        files = len(fleet_files.files(i))
        assert f"files: {files} read from the archive of main at {entry['commit'][:12]}" in entry["policy"]["notes"]


def test_the_token_stays_on_the_api_host_and_the_archive_is_not_cached(codeload: ReplayServer, tmp_path: Path) -> None:
    server = serve("github", codeload)
    codeload.seen.clear()
    try:
        cache = str(tmp_path / "cache")
        _, cold = fleet("github", server, tmp_path / "cold.json", "--include", "*model-000[0-2]", "--cache-dir", cache)
        _, warm = fleet("github", server, tmp_path / "warm.json", "--include", "*model-000[0-2]", "--cache-dir", cache)
    finally:
        server.stop()
    asked = [s for s in server.seen if "/tarball/" in s.path]
    assert len(asked) == 6 and all(s.headers.get("Authorization") == f"Bearer {TOKEN}" for s in asked)
    fetched = [s for s in codeload.seen if s.path.startswith("/_codeload/")]
    assert len(fetched) == 6
    assert all(TOKEN not in json.dumps(s.headers) for s in fetched)  # another origin: no credential follows
    assert all("If-None-Match" not in s.headers for s in asked + fetched)  # archives are streamed, never cached
    assert [statuses(r) for r in warm["repositories"]] == [statuses(r) for r in cold["repositories"]]


def _tar(members: Callable[[tarfile.TarFile], None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        members(tar)
    return buf.getvalue()


def _file(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    tar.addfile(info)


def _hardlink(tar: tarfile.TarFile) -> None:
    _file(tar, "top/a.yml", "x: 1\n")
    info = tarfile.TarInfo("top/b.yml")
    info.type, info.linkname = tarfile.LNKTYPE, "top/a.yml"
    tar.addfile(info)


def _pax_bomb(tar: tarfile.TarFile) -> None:
    """A 2 MiB pax header (a few KB compressed): tarfile would read it whole into memory."""
    info = tarfile.TarInfo("top/a.yml")
    info.pax_headers = {"comment": "x" * (2 << 20)}
    tar.format = tarfile.PAX_FORMAT
    tar.addfile(info, io.BytesIO(b""))


HOSTILE: dict[str, tuple[Callable[[tarfile.TarFile], None], str]] = {
    "hard-link": (_hardlink, "refused: a hard link"),
    "pax-header-bomb": (_pax_bomb, "extended header (more than 1,048,576)"),
    "escapes": (lambda t: _file(t, "top/../../evil.yml", "x: 1\n"), "points outside the repository"),
    "absolute": (lambda t: _file(t, "top//etc/evil.yml", "x: 1\n"), "points outside the repository"),
    "through-a-link": (
        lambda t: (_link(t, "top/out", "/tmp"), _file(t, "top/out/evil.yml", "x: 1\n")),
        "refused: out on its way is a symbolic link",
    ),
}


def _serving(archive: bytes) -> Callable[[Any], Any]:
    def wrap(resolver: Any) -> Any:
        def resolve(method: str, path: str, query: dict[str, str]) -> Any:
            if path.startswith("/_codeload/"):
                return 200, archive, {"Content-Type": "application/x-gzip"}
            return resolver(method, path, query)

        return resolve

    return wrap


@pytest.mark.parametrize("case", list(HOSTILE))
def test_an_archive_that_would_write_outside_is_an_error(case: str, tmp_path: Path) -> None:
    members, why = HOSTILE[case]
    server = serve("github", wrap=_serving(_tar(members)))
    try:
        rc, data = fleet("github", server, tmp_path / "h.json", "--include", "*model-0001")
    finally:
        server.stop()
    assert rc == 3
    (entry,) = data["repositories"]
    assert entry["verdict"] == "error" and why in entry["reason"], entry["reason"]
    schema = json.loads((Path(mlops_gate.__file__).parent / "schemas" / "fleet-report-v1.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    assert not (tmp_path.parent / "evil.yml").exists()


def test_a_link_out_of_the_repository_is_a_file_the_gate_cannot_judge(tmp_path: Path) -> None:
    def members(tar: tarfile.TarFile) -> None:
        _file(tar, "top/.github/workflows/ci.yml", fleet_files.WORKFLOW)
        _link(tar, "top/Dockerfile", "/etc/hostname")

    server = serve("github", wrap=_serving(_tar(members)))
    try:
        _, data = fleet("github", server, tmp_path / "l.json", "--include", "*model-0001")
    finally:
        server.stop()
    (entry,) = data["repositories"]
    base = next(r for r in entry["results"] if r["check"] == "image.base-pinned")
    assert base["status"] in ("failed", "error") and "Dockerfile" in json.dumps(base)  # never a pass


def test_an_archive_over_the_cap_is_an_error_naming_the_flag(tmp_path: Path) -> None:
    server = serve("gitlab")
    try:
        rc, data = fleet(
            "gitlab", server, tmp_path / "c.json", "--include", "acme/model-0000", "--archive-max-bytes", "64"
        )
    finally:
        server.stop()
    assert rc == 3
    (entry,) = data["repositories"]
    assert entry["verdict"] == "error" and "--archive-max-bytes" in entry["reason"], entry["reason"]
    assert "MLOPS_GATE_HTTP_MAX_BYTES" not in entry["reason"]


def test_every_header_counts_against_the_entry_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Folder headers compress to almost nothing: they count toward the cap as files do."""
    from mlops_gate.fleet import archive

    monkeypatch.setattr(archive, "MAX_ENTRIES", 3)

    def folders(tar: tarfile.TarFile) -> None:
        for i in range(5):
            info = tarfile.TarInfo(f"top/d{i}")
            info.type = tarfile.DIRTYPE
            tar.addfile(info)

    server = serve("github", wrap=_serving(_tar(folders)))
    try:
        rc, data = fleet("github", server, tmp_path / "e.json", "--include", "*model-0001")
    finally:
        server.stop()
    (entry,) = data["repositories"]
    assert rc == 3 and entry["verdict"] == "error"
    assert "more than 3 files and folders" in entry["reason"], entry["reason"]


def test_a_zip_that_cannot_be_unpacked_makes_that_repository_an_error_and_the_others_are_judged(
    tmp_path: Path,
) -> None:
    good = bytearray(fleet_files.zipball(fleet_files.files(1)))
    start = 30 + int.from_bytes(good[26:28], "little")  # the first member's deflated data
    for i in range(start + 2, start + 22):
        good[i] ^= 0xFF  # no longer inflates, or no longer matches its CRC
    broken = bytes(good)

    def wrap(resolver: Any) -> Any:
        def resolve(method: str, path: str, query: dict[str, str]) -> Any:
            if query.get("$format") == "zip" and "00000000-" in path:  # model-0000's archive
                return 200, broken, {}
            return resolver(method, path, query)

        return resolve

    server = serve("azure", wrap=wrap)
    try:
        rc, data = fleet("azure", server, tmp_path / "z.json", "--include", "model-000[0-1]")
    finally:
        server.stop()
    assert rc == 1  # model-0001 fails on its own findings; model-0000 could not be judged
    by_name = {r["name"]: r for r in data["repositories"]}
    assert by_name["contoso/ml/model-0000"]["verdict"] == "error"
    assert (
        "cannot unpack it" in by_name["contoso/ml/model-0000"]["reason"]
        or "larger than" in (by_name["contoso/ml/model-0000"]["reason"])
    )
    assert by_name["contoso/ml/model-0001"]["status"] == "judged" and by_name["contoso/ml/model-0001"]["results"]
