"""Which release of Prometheus or Alertmanager a file is judged against.

A file is valid or not for a given release: Alertmanager 0.25 refuses `tracing:` that 0.30 reads, and
Prometheus 3.0 reads the UTF-8 names 2.x refuses. The policy names the release the user runs
(`prometheus_version`, `alertmanager_version`); by default the gate judges against the newest release it
has read the code of:

- Prometheus 3.14 (prometheus/prometheus main at d15adb9a, 2026-08-21, VERSION 3.14.0);
- Alertmanager 0.34 (prometheus/alertmanager main at 68fb2d57, 2026-08-22, after v0.34.0).

Older releases are read back to Prometheus 2.42 and Alertmanager 0.25 (what Debian 12 ships): every rule
that changed on the way says since which release (`since=`), and messages name the release judged.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

PROMETHEUS_DEFAULT = "3.14"
ALERTMANAGER_DEFAULT = "0.34"
PROMETHEUS_OLDEST = (2, 42)
ALERTMANAGER_OLDEST = (0, 25)
PROMETHEUS_NEWEST = (3, 14)
ALERTMANAGER_NEWEST = (0, 34)
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?")


@dataclass(frozen=True, order=True)
class Version:
    """A release as major.minor (patch releases do not change what loads)."""

    major: int
    minor: int

    def at_least(self, since: str) -> bool:
        return self >= _release(since)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def parse(text: str) -> Version:
    """`3.14`, `v3.14.0`, `2.42.0+ds` -> Version; ValueError otherwise."""
    m = _VERSION.fullmatch(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a release number such as 3.14 or v0.34.0")
    return Version(int(m.group(1)), int(m.group(2)))


@functools.cache
def _release(since: str) -> Version:
    """`parse` of the gate's own table entries (`since` versions), once each: the schema tables ask hundreds
    of times per run."""
    return parse(since)


def supported(text: str, product: str) -> str | None:
    """Why `text` cannot be judged against (not a version, or older than the gate reads), or None."""
    try:
        v = parse(text)
    except ValueError as exc:
        return str(exc)
    oldest = Version(*(PROMETHEUS_OLDEST if product == "prometheus" else ALERTMANAGER_OLDEST))
    if v < oldest:
        return f"{product.capitalize()} {v} is older than the gate reads (oldest: {oldest})"
    return None


def label(product: str, version: Version) -> str:
    """How messages name the release judged: `Prometheus 3.14`, with a note past the newest the gate knows."""
    newest = Version(*(PROMETHEUS_NEWEST if product == "prometheus" else ALERTMANAGER_NEWEST))
    name = f"{product.capitalize()} {version}"
    return name if version <= newest else f"{name} (judged by the rules of {newest}, the newest the gate knows)"
