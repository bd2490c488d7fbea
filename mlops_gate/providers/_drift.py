"""Which repository files could declare a drift monitor (the drift_config kind): by name, by the words
of the drift libraries and platforms in their bytes, and by their parsed strings."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from mlops_gate.facts.files import SourceFile
from mlops_gate.policies import DISCOVERED_NAMES
from mlops_gate.providers._repo import YAML_EXT, name_of
from mlops_gate.providers._scan import Content, word

DRIFT_WORDS = (
    "evidently",
    "nannyml",
    "quality_monitors",
    "data_drift",
    "datadrift",
    "drift_signal",
    "model_monitor",
    "monitoring_signals",
    "create_monitor",
    "prediction_drift",
    "alibi_detect",
    "whylogs",
)


def drift_candidate(rel: str) -> bool:
    """By name (the files provider leaves the CI files out)."""
    return name_of(rel).endswith((*YAML_EXT, ".json", ".py")) and name_of(rel) not in DISCOVERED_NAMES


def mentions_drift(f: SourceFile) -> bool:
    name = f.path.lower()
    if any(w in name for w in ("evidently", "nannyml", "drift")):
        return True
    if f.format == "python":
        return any(f"import {w}" in (f.text or "") or f"from {w}" in (f.text or "") for w in DRIFT_WORDS)
    return any(any(w in s for w in DRIFT_WORDS) for s in _strings(f.documents))


def _strings(node: object) -> Iterator[str]:
    """Every key and scalar of the documents, lower-cased (no serialisation of the whole tree)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                yield str(k).lower()
                stack.append(v)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str):
            yield item.lower()
        elif item is not None and not isinstance(item, (bool, int, float)):
            yield str(item).lower()


_WORDS = tuple(w.encode() for w in DRIFT_WORDS)
# every drift word holds one of these: half the searches rule out a file that holds none (most files)
_COARSE = (b"drift", b"monitor", b"evidently", b"nannyml", b"alibi", b"whylogs")


@functools.cache
def _drift_json() -> re.Pattern[bytes]:
    """The drift words as JSON may escape them (either case: `\\u0045vidently`): compiled when a JSON file
    with a `\\u` escape first asks (~6 ms to compile, which a run whose files have none does not pay)."""
    return re.compile(b"|".join(word(w, fold=True) for w in DRIFT_WORDS), re.I)


# YAML spells a word only as written, unless a string is escaped (`\x65vidently`, `"data_\` + a line
# break) or binary (`!!binary`, base64): such a file is parsed and its strings walked
_DRIFT_YAML = (*_WORDS, b"\\", b"binary")
_DRIFT_YAML_COARSE = (*_COARSE, b"\\", b"binary")


def _named(c: Content) -> bool:
    return any(w in c.path.lower() for w in ("evidently", "nannyml", "drift"))


def could_be_drift(c: Content) -> bool:
    """What mentions_drift needs, over the bytes (a JSON key may be written with \\u escapes). A YAML file is a
    candidate only when its bytes could spell a drift word (as written, escaped or binary): one that does not
    parse is then reported; one that could not mention drift is not a drift monitor, parsed or not (a Go-templated
    patch file is no failure of monitoring.drift-monitor)."""
    if _named(c):
        return True
    if c.format == "yaml":
        return c.has_any(_DRIFT_YAML, _DRIFT_YAML_COARSE)
    if c.has_any(_WORDS, _COARSE):
        return True
    return c.format == "json" and c.has_any((b"\\u",)) and c.has(_drift_json())


def could_mention_drift(c: Content) -> bool:
    """Whether a YAML file that parses could mention drift: its strings are walked only then."""
    return c.format != "yaml" or _named(c) or c.has_any(_DRIFT_YAML, _DRIFT_YAML_COARSE)
