"""Waivers, exactly as documented: what a policy's waiver must say (a real date, visible owner, reason and
subject), when it expires (through its `expires` day, in UTC), and which failed results it waives."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from mlops_gate.model import Result, Status, Waiver


class WaiverFields(Protocol):
    """A waiver as written (mlops_gate.policy.WaiverDoc) or as applied (mlops_gate.model.Waiver)."""

    @property
    def expires(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def subject(self) -> str: ...


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# drawn as nothing although they are letters or symbols: Hangul fillers, the Braille blank
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def expiry(value: object) -> dt.date:
    """A waiver's `expires`: a calendar date written YYYY-MM-DD, nothing else (not 20270331, not 2027-W13-3,
    not a time); ValueError otherwise. A date YAML already parsed is accepted as it is."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD): no such day") from None


def text_problem(text: str) -> str | None:
    """Why `text` cannot stand as a waiver's owner, reason or subject: someone must be able to read it."""
    if not text:
        return "must not be empty"
    odd = next((c for c in text if c in _BIDI or (unicodedata.category(c) == "Cc" and c not in "\t\n\r")), None)
    if odd is not None:
        return f"contains the control character U+{ord(odd):04X}; write plain text"
    if not any(c not in _BLANK and unicodedata.category(c) not in _INVISIBLE for c in text):
        shown = " ".join(f"U+{ord(c):04X}" for c in text[:8])
        return f"must contain visible text, not only blank or invisible characters ({shown})"
    return None


def waiver_problem(w: WaiverFields) -> tuple[str, str] | None:
    """(key, what is wrong) for the first field of a waiver that is not as documented, else None."""
    try:
        expiry(w.expires)
    except ValueError as exc:
        return "expires", str(exc)
    for name in ("owner", "reason", "subject"):
        problem = text_problem(getattr(w, name))
        if problem is not None:
            return name, problem
    return None


def today_utc() -> dt.date:
    """Waivers expire by the calendar in UTC, wherever the gate runs."""
    return dt.datetime.now(dt.timezone.utc).date()


def is_expired(waiver: Waiver, today: dt.date) -> bool:
    """A waiver applies through its `expires` day (UTC) and no longer from the next day on."""
    return expiry(waiver.expires) < today


# at least one character that is neither blank, a control, nor invisible (the schema's approximation of
# text_problem, in ECMA-262 regex syntax)
VISIBLE_PATTERN = (
    "[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5"
    "\\u180b-\\u180f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\u2800\\u3164"
    "\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff0-\\ufffb]"
)


@dataclass(frozen=True)
class WaiverUse:
    """The results with the policy's waivers applied, and which waivers were used, had expired, or waived nothing."""

    results: tuple[Result, ...]
    applied: tuple[Waiver, ...]
    expired: tuple[Waiver, ...]
    unused: tuple[Waiver, ...]


def apply_waivers(results: Iterable[Result], waivers: tuple[Waiver, ...], today: dt.date) -> WaiverUse:
    live = [w for w in waivers if not is_expired(w, today)]
    expired = tuple(w for w in waivers if is_expired(w, today))
    used: list[Waiver] = []
    out = []
    for r in results:
        w = next((w for w in live if w.check == r.check and fnmatch.fnmatchcase(r.subject, w.subject)), None)
        if w is not None and r.status is Status.FAILED:
            r = replace(r, status=Status.WAIVED, waiver=w)
            if w not in used:
                used.append(w)
        out.append(r)
    unused = tuple(w for w in live if w not in used)
    return WaiverUse(tuple(out), tuple(used), expired, unused)
