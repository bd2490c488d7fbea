"""The on-disk cache behind conditional requests (`--cache-dir`): one file per (host, URL, credential),
holding the answer's ETag, its headers and its body.

Safe to persist between CI jobs (actions/cache, GitLab `cache:`):
- no credential is ever written: the file name is a SHA-256 over the method, the URL and a SHA-256 of the
  credential headers; a file holds only what the server answered (headers that set cookies are dropped);
- an entry is used only when the server itself answers `304 Not Modified` to its ETag;
- an entry made with a credential carries an HMAC keyed by that credential: an entry someone else wrote into
  the cache directory (a pull request's job sharing the cache) does not verify and is not used;
- bounded: an entry larger than MAX_ENTRY_BYTES is not kept, and one read back larger than that is ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_gate.errors import UsageError

MAX_ENTRY_BYTES = 8 << 20
CREDENTIAL_HEADERS = ("authorization", "private-token", "job-token", "cookie")
DROPPED_HEADERS = frozenset({"set-cookie", "content-length", "content-encoding", "transfer-encoding", "connection"})
VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One cached answer: the ETag it was served with, and the status, headers and body to replay on a 304."""

    etag: str
    status: int
    headers: dict[str, str]
    body: bytes


def credential_of(headers: Any) -> bytes:
    """The credential a request carries, as the bytes its HMAC and its cache key are derived from."""
    parts = [f"{name}:{headers[name]}" for name in CREDENTIAL_HEADERS if headers.get(name)]
    return "\n".join(parts).encode()


class Cache:
    """A directory of cached answers (created 0700; files 0600, written atomically)."""

    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise UsageError(f"--cache-dir {directory}: cannot create it: {exc}", "give a writable directory") from None
        if not directory.is_dir():
            raise UsageError(f"--cache-dir {directory}: not a directory", "give a directory")
        self.directory = directory

    def _path(self, method: str, url: str, credential: bytes) -> Path:
        who = hashlib.sha256(credential).hexdigest()
        key = hashlib.sha256(f"{VERSION}\n{method}\n{url}\n{who}".encode()).hexdigest()
        return self.directory / key[:2] / f"{key}.json"

    def get(self, method: str, url: str, credential: bytes) -> Entry | None:
        path = self._path(method, url, credential)
        try:
            if path.stat().st_size > MAX_ENTRY_BYTES * 2:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
            entry = Entry(
                str(data["etag"]),
                int(data["status"]),
                {str(k): str(v) for k, v in dict(data["headers"]).items()},
                base64.b64decode(data["body"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no entry, or one we cannot read: ask unconditionally
        if not hmac.compare_digest(str(data.get("mac", "")), _mac(credential, entry)):
            return None
        return entry

    def put(self, method: str, url: str, credential: bytes, entry: Entry) -> None:
        if len(entry.body) > MAX_ENTRY_BYTES:
            return
        headers = {k: v for k, v in entry.headers.items() if k.lower() not in DROPPED_HEADERS}
        kept = Entry(entry.etag, entry.status, headers, entry.body)
        data = {
            "etag": kept.etag,
            "status": kept.status,
            "headers": kept.headers,
            "body": base64.b64encode(kept.body).decode(),
            "mac": _mac(credential, kept),
        }
        path = self._path(method, url, credential)
        try:
            path.parent.mkdir(exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs requests next time


def _mac(credential: bytes, entry: Entry) -> str:
    """Keyed by the credential (without one, a plain digest: anyone could have written it, and the server's
    304 is then all that vouches for it)."""
    text = json.dumps([entry.etag, entry.status, sorted(entry.headers.items())]).encode() + b"\0" + entry.body
    return hmac.new(credential or b"anonymous", text, hashlib.sha256).hexdigest()
