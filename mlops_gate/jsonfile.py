"""JSON files the gate is handed (`--facts-in`, `verify-evidence`): bounded in size and nesting, decoded
strictly, so that a hostile file is a clean error (exit 2) rather than a traceback or a memory blow-up."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MAX_BYTES = 32 * 1024 * 1024  # a facts file or evidence bundle larger than this is refused
MAX_DEPTH = 200  # nesting; facts embed YAML documents, which yamlio reads to 100 levels
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonFileError(ValueError):
    """The file is not JSON the gate accepts; the message (`is ...`) follows the path."""


def read(path: Path, max_bytes: int = MAX_BYTES) -> Any:
    """Parse `path`. OSError when it cannot be read; JsonFileError when it is not a regular file, too large,
    not UTF-8, not JSON, nested deeper than MAX_DEPTH, or holds a lone surrogate (\\ud800) no output can
    encode."""
    if not path.is_file():
        if path.exists():
            raise JsonFileError("is not a regular file")
        path.stat()  # raises FileNotFoundError / PermissionError with the OS's words
    if path.stat().st_size > max_bytes:  # refused unread; the bounded read below covers a file still growing
        raise JsonFileError(f"is larger than {max_bytes // (1024 * 1024)} MiB")
    with path.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise JsonFileError(f"is larger than {max_bytes // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonFileError(f"is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise JsonFileError(f"is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise JsonFileError(f"is not JSON ({exc})") from None
    if depth(value) > MAX_DEPTH:
        raise JsonFileError(f"is nested deeper than {MAX_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise JsonFileError("is not text: it holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        kinds = set(map(type, children))  # at C speed: a long flat array holds no container to visit
        if dict in kinds or list in kinds:
            stack.extend((child, level + 1) for child in children if type(child) in (dict, list))
    return deepest
