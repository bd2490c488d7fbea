"""Text from the repository or a server, made safe to print: in a report, a CI log or a terminal.

One rule for every writer: lone surrogates (a file name that is not UTF-8) become `\\xNN` for the byte
they stand for; control characters, Unicode line and paragraph separators and bidirectional controls
become `\\xNN` / `\\uNNNN`; and what a CI runner would read as a command inside a log line (`##vso[`,
`##[`, or `::` opening a line — after any white space, which the GitHub runner trims, Unicode spaces such
as U+00A0 included) is broken with a backslash. Ordinary text is returned unchanged. Reports get this
through reporters/_safe.py; everything else the CLI prints on stderr through stderr_guard.guard_stderr.
"""

from __future__ import annotations

import re

_CLASS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[{_CLASS}]|\r(?!\n)")  # CR LF is a line break; a lone CR rewrites the line on a terminal
_UNSAFE_NAME = re.compile(f"[\t\n\r{_CLASS}]")
# white space a runner may trim before `::`: every Unicode space (str.isspace) but the line break, and the
# zero-width characters some trimming treats alike
_COMMAND = re.compile(r"##(vso)?\[|(?:^|(?<=\n))((?:[^\S\n]|[\u180e\u200b-\u200d\u2060\ufeff])*)::")


def _code(m: re.Match[str]) -> str:
    o = ord(m.group())
    if 0xDC80 <= o <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def _defuse(m: re.Match[str]) -> str:
    if m.group().startswith("#"):
        return f"##{m.group(1) or ''}\\["
    return f"{m.group(2)}:\\:"


def text(value: str) -> str:
    """A message: line breaks (LF, CR LF) and tabs kept, everything else unsafe escaped."""
    if value.isprintable() and "##" not in value and "::" not in value:
        return value  # the common case, quickly
    return _COMMAND.sub(_defuse, _UNSAFE.sub(_code, value))


def name(value: str) -> str:
    """A file name or other one-line value: as `text`, with line breaks and tabs escaped too."""
    if value.isprintable() and "##" not in value and "::" not in value:
        return value
    return _COMMAND.sub(_defuse, _UNSAFE_NAME.sub(_code, value))


def is_clean_name(value: str) -> bool:
    """Whether a file name prints as it is (no control character, separator, bidi control or stray byte)."""
    return _UNSAFE_NAME.search(value) is None
