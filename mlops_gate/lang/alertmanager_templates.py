"""The Go templates in an Alertmanager configuration's notifiers (titles, texts, messages, fields, headers)
and route labels, checked as Alertmanager renders them: with its functions and notification data, for the
release judged.

Alertmanager loads a configuration without parsing these; it parses each when it sends a notification, and
a template it cannot parse or run (`{{ .CommonLabels.job | toUpperr }}`, `{{ .Statuz }}`) makes that
notification fail: the alert reaches no one. So they are problems, though not load errors (`runtime`:
`amtool check-config` does not see them, and is not asked about them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlops_gate.lang import alertmanager_schema as schema
from mlops_gate.lang import gotemplate as gt
from mlops_gate.lang.alertmanager_schema import NOTIFIERS
from mlops_gate.lang.alertmanager_types import mapping, sequence
from mlops_gate.lang.versions import Version

_TEXT = ("str", "secret", "strs", "strmap", "anymap", "any", "jirafield")  # value types that may be templates


def problems(doc: dict[str, Any], version: Version) -> Iterator[tuple[str, tuple[object, ...]]]:
    """(message, key path) for each notification template Alertmanager `version` could not render."""
    flavour = gt.alertmanager(version)
    receiver_fields = schema.fields("Receiver", version)
    for i, receiver in enumerate(sequence(doc.get("receivers"))):
        for key, kind in receiver_fields.items():
            if key in NOTIFIERS:
                yield from _strings(mapping(receiver).get(key), kind, ("receivers", i, key), version, flavour)
    yield from _route_labels(mapping(doc.get("route")), ("route",), flavour)


def _strings(
    value: Any, kind: str, path: tuple[object, ...], version: Version, flavour: gt.Flavour
) -> Iterator[tuple[str, tuple[object, ...]]]:
    """The strings of `value` that the notifier renders, following its schema for the release (where to send
    — URLs —, how — HTTP, TLS —, durations and files are not rendered)."""
    if kind.startswith("[") and isinstance(value, list):
        for k, item in enumerate(value):
            yield from _strings(item, kind[1:-1], (*path, k), version, flavour)
    elif kind in schema.STRUCTS_TEXT and kind not in ("HTTP", "TLS", "SigV4") and isinstance(value, dict):
        known = schema.fields(kind, version)
        for key, item in value.items():
            if key in known and not key.endswith("_file"):
                yield from _strings(item, known[key], (*path, key), version, flavour)
    elif kind in _TEXT:
        yield from _texts(value, path, flavour)


def _texts(value: Any, path: tuple[object, ...], flavour: gt.Flavour) -> Iterator[tuple[str, tuple[object, ...]]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, (*path, key), flavour)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from _texts(item, (*path, k), flavour)
    elif isinstance(value, str) and "{{" in value:
        yield from _checked(value, path, flavour)


def _route_labels(
    route: dict[str, Any], path: tuple[object, ...], flavour: gt.Flavour
) -> Iterator[tuple[str, tuple[object, ...]]]:
    for name, value in mapping(route.get("labels")).items():
        if isinstance(value, str) and "{{" in value:
            yield from _checked(value, (*path, "labels", name), flavour)
    for k, child in enumerate(sequence(route.get("routes"))):
        yield from _route_labels(mapping(child), (*path, "routes", k), flavour)


def _checked(text: str, path: tuple[object, ...], flavour: gt.Flavour) -> Iterator[tuple[str, tuple[object, ...]]]:
    found = gt.check(text, flavour)
    if found.error:
        yield f"template: {found.error} ({flavour.label} could not render it: the notification would fail)", path
    for why in found.fields:
        yield f"template: {why} ({flavour.label} could not render it: the notification would fail)", path
