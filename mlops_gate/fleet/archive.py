"""A repository's files at one commit, fetched through the platform's API for `fleet --files`: the archive of the
default branch head (GitHub tarball, GitLab archive.tar.gz, Azure DevOps items as zip), streamed to a spooled
temporary file on the bounded transport (the fleet's exchange counts it, its deadline and the size cap apply),
then unpacked into an empty folder with the top folder of the tar removed.

Unpacking is bounded and refuses what could write outside the folder: tar members go through Python's `data`
filter (no absolute paths, no `..`, no device files, nothing written through a link), zip names are checked
the same way, and both have a cap on the unpacked bytes and on the number of entries. A symbolic link is
unpacked as a link, whatever it points to: the files provider never follows a link out of the repository and
reports the file it cannot judge. Anything refused makes the archive an error (the repository is then judged
`error`, never passed on the files it could read).

The token goes only where `check` sends it: the API host; the transport drops it on a redirect to another
origin (GitHub answers a tarball with a redirect to codeload.github.com, whose URL carries its own grant).
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
import tempfile
import urllib.parse
import zipfile
from pathlib import Path
from typing import IO, Any

from mlops_gate.errors import FactError
from mlops_gate.fleet.platforms import Repo
from mlops_gate.providers import Context, http, netpolicy
from mlops_gate.providers._transport import BoundedAdapter

DEFAULT_MAX_BYTES = 100 << 20  # the archive as downloaded (--archive-max-bytes)
UNPACKED_FACTOR = 10  # the unpacked files may be at most this many times the cap
MAX_ENTRIES = 200_000
HINT = "raise --archive-max-bytes if the repository really is this large, or leave --files out for it"


class ArchiveError(FactError):
    pass


class _Spooling(BoundedAdapter):
    """The bounded transport, with the body written to a spooled temporary file instead of kept in memory."""

    def _read(self, req: Any, response: Any) -> None:
        size = response.headers.get("Content-Length", "")
        if size.isdigit() and int(size) > self.max_bytes:
            response.close()
            raise _too_large(req, self.max_bytes)
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 (handed to the caller)
        total = 0
        for chunk in response.iter_content(256 << 10):
            total += len(chunk)
            if total > self.max_bytes:
                response.close()
                spool.close()
                raise _too_large(req, self.max_bytes)
            spool.write(chunk)
        spool.seek(0)
        response._content = b""
        response.spool = spool
        if req.expired:
            spool.close()
            raise req.timeout()


def _too_large(req: Any, cap: int) -> ArchiveError:
    return ArchiveError(f"{req.method} {req.url}: the archive is larger than {cap:,} bytes (--archive-max-bytes)", HINT)


def _get(ctx: Context, url: str, headers: dict[str, str], max_bytes: int, what: str) -> IO[bytes]:
    import requests

    adapter = _Spooling(http.clock(ctx), ctx.env, max_bytes, max_retries=http.retry())
    adapter.exchange = ctx.inputs.exchange
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False  # no ~/.netrc credential for whatever host a redirect names
    try:
        response = session.get(url, headers=headers, timeout=http.timeout(ctx.env), allow_redirects=True)
    except FactError as exc:
        raise ArchiveError(f"{what}: {exc.message}", exc.hint or HINT) from None
    except requests.exceptions.RequestException as exc:
        raise ArchiveError(f"{what}: cannot reach {netpolicy.shown(url)} ({type(exc).__name__})") from None
    finally:
        session.close()
    spool: IO[bytes] | None = getattr(response, "spool", None)
    if response.status_code != 200 or spool is None:
        if spool is not None:
            spool.close()
        failure = http.http_failure(
            response.status_code,
            what,
            netpolicy.shown(url),
            hint_401="the token was rejected: set the platform's token variable to a valid token",
            hint_403="the token cannot read the repository's contents (GitHub: Contents read; GitLab: read_api or "
            "read_repository; Azure DevOps: Code (Read))",
            hint_404="the repository or commit is not visible to the token",
        )
        raise ArchiveError(failure.message, failure.hint)
    return spool


def _github(ctx: Context, repo: Repo, commit: str, max_bytes: int) -> tuple[IO[bytes], str]:
    from mlops_gate.providers import _github_api

    base = (ctx.target.api_url or ctx.env.get("GITHUB_API_URL") or _github_api.DEFAULT_API).rstrip("/")
    netpolicy.require_secure(base, ctx.env, "GitHub API", "--api-url (or GITHUB_API_URL)")
    token = http.first_env(ctx.env, *_github_api.TOKEN_VARS)
    headers = {"Accept": "application/vnd.github+json", **({"Authorization": f"Bearer {token}"} if token else {})}
    url = f"{base}/repos/{repo.name}/tarball/{commit}"
    return _get(ctx, url, headers, max_bytes, f"the files of {repo.name} at {commit[:12]}"), "tar"


def _gitlab(ctx: Context, repo: Repo, commit: str, max_bytes: int) -> tuple[IO[bytes], str]:
    from mlops_gate.providers import _gitlab_api

    base = _gitlab_api.base_url(ctx.target.api_url)
    netpolicy.require_secure(base, ctx.env, "GitLab API", "--api-url (or CI_API_V4_URL / CI_SERVER_URL)")
    token = http.first_env(ctx.env, "GITLAB_TOKEN")
    project = urllib.parse.quote(repo.name, safe="")
    url = f"{base}/api/v4/projects/{project}/repository/archive.tar.gz?sha={commit}"
    headers = {"PRIVATE-TOKEN": token} if token else {}
    return _get(ctx, url, headers, max_bytes, f"the files of {repo.name} at {commit[:12]}"), "tar"


def _azure(ctx: Context, repo: Repo, commit: str, max_bytes: int) -> tuple[IO[bytes], str]:
    import base64

    from mlops_gate.providers import _azure_rest

    org, project, name = repo.name.split("/", 2)
    base = (ctx.target.api_url or f"https://dev.azure.com/{org}").rstrip("/")
    netpolicy.require_secure(base, ctx.env, "Azure DevOps", "--api-url (or SYSTEM_COLLECTIONURI)")
    token = http.first_env(ctx.env, *_azure_rest.TOKEN_VARS)
    query = urllib.parse.urlencode(
        {
            "path": "/",
            "versionDescriptor.version": commit,
            "versionDescriptor.versionType": "commit",
            "$format": "zip",
            "download": "true",
            "api-version": "7.1",
        }
    )
    where = (
        f"{urllib.parse.quote(project, safe='')}/_apis/git/repositories/{urllib.parse.quote(repo.id or name, safe='')}"
    )
    url = f"{base}/{where}/items?{query}"
    basic = base64.b64encode(f":{token}".encode()).decode() if token else None
    headers = {"Authorization": f"Basic {basic}"} if basic else {}
    return _get(ctx, url, headers, max_bytes, f"the files of {repo.name} at {commit[:12]}"), "zip"


FETCH = {"github": _github, "gitlab": _gitlab, "azure": _azure}


def fetch(ctx: Context, repo: Repo, commit: str, dest: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Unpack the repository's files at `commit` into the empty folder `dest`; returns how many files. Whatever
    goes wrong unpacking (a corrupt stream, an encrypted or unknown zip method, a refused entry) is an
    ArchiveError: that repository is `error`, and the others are judged."""
    spool, kind = FETCH[repo.platform](ctx, repo, commit, max_bytes)
    what = f"the archive of {repo.name} at {commit[:12]}"
    with spool:
        try:
            return (_untar if kind == "tar" else _unzip)(spool, dest, max_bytes * UNPACKED_FACTOR, what)
        except ArchiveError:
            raise
        except Exception as exc:  # zlib/lzma errors, RuntimeError (encrypted), NotImplementedError (method), ...
            raise ArchiveError(
                f"{what}: cannot unpack it: {type(exc).__name__}: {exc}",
                "the archive the API sent is corrupt or in a form the gate does not unpack: run again, or leave "
                "--files out (or exclude the repository)",
            ) from None


MAX_HEADER = 1 << 20  # a pax or GNU long-name header: tarfile reads it whole into memory


class _Bounded(tarfile.TarInfo):
    """tarfile reads a pax extended header or a GNU long name/link whole into memory before the member it
    describes: one of more than MAX_HEADER bytes (a few KB compressed) is refused before it is read."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        long = (
            tarfile.XHDTYPE,
            tarfile.XGLTYPE,
            tarfile.SOLARIS_XHDTYPE,
            tarfile.GNUTYPE_LONGNAME,
            tarfile.GNUTYPE_LONGLINK,
        )
        if self.type in long and self.size > MAX_HEADER:
            raise tarfile.HeaderError(f"a {self.size:,}-byte extended header (more than {MAX_HEADER:,})")
        return super()._proc_member(tarfile_)  # type: ignore[misc, no-any-return]


def _untar(spool: IO[bytes], dest: Path, budget: int, what: str) -> int:
    """Regular files, folders and symbolic links only, each written by this code (not tarfile's extraction
    filter, whose realpath checks older Pythons let long link chains get around): every folder on the way is
    checked with lstat to be a real folder inside `dest`, a file is created exclusively (never through a link),
    and a link is made as written but never written through."""
    entries = count = total = 0
    with tarfile.open(fileobj=spool, mode="r:*", tarinfo=_Bounded) as tar:
        for member in tar:
            entries, total = entries + 1, total + max(member.size, 0)
            _bounded(entries, total, budget, what)  # every header counts: 512 bytes each, compressed to a few
            rel = _safe_name(_strip_top(member.name), what)  # the archive's top folder: owner-repo-sha/
            if not rel:
                continue
            if member.isdir():
                _folder(dest, rel, what).mkdir(exist_ok=True)
            elif member.issym():
                os.symlink(member.linkname, _parent(dest, rel, what) / posixpath.basename(rel))
                count += 1
            elif member.isreg():
                data = tar.extractfile(member)
                if data is None:
                    raise ArchiveError(f"{what}: {rel}: its data cannot be read", HINT)
                _write(data, _parent(dest, rel, what) / posixpath.basename(rel), member.size, rel, what)
                count += 1
            else:
                kind = "a hard link" if member.islnk() else "not a file, folder or symbolic link"
                raise ArchiveError(f"{what}: {rel}: refused: {kind} (git archives hold none)", HINT)
    return count


def _unzip(spool: IO[bytes], dest: Path, budget: int, what: str) -> int:
    entries = count = total = 0
    with zipfile.ZipFile(spool) as zf:
        for info in zf.infolist():
            entries, total = entries + 1, total + info.file_size
            _bounded(entries, total, budget, what)
            rel = _safe_name(info.filename.lstrip("/"), what)
            if not rel:
                continue
            if info.is_dir():
                _folder(dest, rel, what).mkdir(exist_ok=True)
                continue
            with zf.open(info) as src:
                _write(src, _parent(dest, rel, what) / posixpath.basename(rel), info.file_size, rel, what)
            count += 1
    return count


def _write(src: IO[bytes], path: Path, size: int, rel: str, what: str) -> None:
    """`src` into a new file (O_EXCL: an existing name, a link included, is an error), at most `size` bytes."""
    with open(path, "xb") as dst:
        written = 0
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > size:  # a size the header understates
                raise ArchiveError(f"{what}: {rel}: larger than its entry says", HINT)
            dst.write(chunk)


def _strip_top(name: str) -> str:
    return name.removeprefix("./").partition("/")[2]


def _safe_name(name: str, what: str) -> str:
    norm = posixpath.normpath(name) if name else ""
    if norm in ("", "."):
        return ""
    if name.startswith("/") or norm.startswith("../") or norm == ".." or "\0" in norm:
        raise ArchiveError(f"{what}: {name!r} points outside the repository", HINT)
    return norm


def _folder(dest: Path, rel: str, what: str) -> Path:
    """`dest/rel` for a folder: its parent checked as `_parent` does, and `rel` itself not a link."""
    path = _parent(dest, rel, what) / posixpath.basename(rel)
    if path.is_symlink():
        raise ArchiveError(f"{what}: {rel}: refused: a folder where the archive made a symbolic link", HINT)
    return path


def _parent(dest: Path, rel: str, what: str) -> Path:
    """The folder `rel` goes in, made as needed: each component from `dest` down is checked with lstat to be a
    real folder (never a symbolic link), so nothing is ever written through a link."""
    folder = dest
    for part in rel.split("/")[:-1]:
        folder = folder / part
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            folder.mkdir()
            continue
        if not stat.S_ISDIR(mode):
            raise ArchiveError(f"{what}: {rel}: refused: {part} on its way is a symbolic link or a file", HINT)
    return folder


def _bounded(count: int, total: int, budget: int, what: str) -> None:
    if count > MAX_ENTRIES:
        raise ArchiveError(f"{what}: more than {MAX_ENTRIES:,} files and folders", HINT)
    if total > budget:
        raise ArchiveError(f"{what}: unpacks to more than {budget:,} bytes", HINT)
