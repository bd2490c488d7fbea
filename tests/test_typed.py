"""The one typed mapping behind params, saved facts and the policy schema."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal

import jsonschema
import pytest

from mlops_gate import typed
from mlops_gate.model import Severity


@dataclass(frozen=True)
class Inner:
    n: int = 1


@dataclass(frozen=True)
class Outer:
    name: str
    tags: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    items: tuple[Inner, ...] = ()
    sev: Severity = Severity.LOW
    mode: Literal["a", "b"] = "a"
    ratio: float = 0.5
    flag: bool = False


def test_round_trip() -> None:
    data = {
        "name": "x",
        "tags": {"owner": None, "status": ["approved"]},
        "items": [{"n": 2}],
        "sev": "high",
        "mode": "b",
        "ratio": 1,
        "flag": True,
    }
    obj = typed.from_data(Outer, data)
    assert obj == Outer("x", {"owner": None, "status": ("approved",)}, (Inner(2),), Severity.HIGH, "b", 1.0, True)
    back = typed.to_data(obj)
    assert typed.from_data(Outer, back) == obj
    jsonschema.validate(back, typed.schema_of(Outer))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "name: required key is missing"),
        ({"name": 1}, "name: expected a string, got int 1"),
        (
            {"name": "x", "extra": 1},
            "extra: unknown key (known keys: flag, items, mode, name, ratio, sev, tags)",
        ),
        ({"name": "x", "items": [{"n": "2"}]}, "items[0].n: expected an integer, got str '2'"),
        ({"name": "x", "flag": "yes"}, "flag: expected true or false, got str 'yes'"),
        (
            {"name": "x", "sev": "urgent"},
            "sev: expected one of info, low, medium, high, critical, got str 'urgent'",
        ),
        ({"name": "x", "items": [{"n": True}]}, "items[0].n: expected an integer, got bool True"),
        ({"name": "x", "tags": {"a": 3}}, "tags.a: expected a list or null, got int 3"),
    ],
)
def test_errors_name_the_path(data: dict[str, object], message: str) -> None:
    with pytest.raises(typed.DataError) as exc:
        typed.from_data(Outer, data)
    assert str(exc.value) == message


@dataclass(frozen=True)
class Documented:
    """What these are for. Prose may say ratio: anything, or mention flag: too, at the margin only when it
    documents a field.

    name: what it is called,
        over two lines.
        e.g. churn-model
    tags: labels and their values.
        e.g. {owner: "@ml", tier: [gold]}
    unknown: not a field, so not an entry.
    flag: on or off.
    """

    name: str = ""
    tags: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    flag: bool = False
    ratio: float = 0.5


def test_field_docs_convention() -> None:
    from mlops_gate.fielddoc import field_docs, type_name

    docs = field_docs(Documented)
    assert set(docs) == {"name", "tags", "flag"}  # `unknown` is no field; ratio has no entry
    assert docs["name"].text == "what it is called, over two lines." and docs["name"].example == "churn-model"
    assert docs["tags"].example == {"owner": "@ml", "tier": ["gold"]}
    assert not docs["flag"].has_example
    assert type_name(typed.hints(Documented)["tags"]) == "mapping of string to list of strings or null"
    assert type_name(tuple[str, ...]) == "list of strings" and type_name(bool) == "true/false"
    schema = typed.schema_of(Documented)["properties"]
    assert schema["name"]["description"] == "what it is called, over two lines."
    assert schema["tags"]["examples"] == [{"owner": "@ml", "tier": ["gold"]}]
    assert "description" not in schema["ratio"]


def test_types_a_module_exports_lazily_are_resolved() -> None:
    """mlops_gate.facts.oci re-exports the registry artifact types from a module imported when first asked for;
    reading saved image facts resolves them (in a fresh interpreter: nothing has imported them yet)."""
    code = (
        "import sys\n"
        "from mlops_gate import typed\n"
        "from mlops_gate.facts.oci import ImageFacts\n"
        "assert 'mlops_gate.facts.oci_artifacts' not in sys.modules\n"
        "sig = {'source': 's', 'manifest_digest': 'm', 'layer_digest': 'l', 'payload': 'p', 'signature': 'x'}\n"
        "img = typed.from_data(ImageFacts, {'ref': 'r', 'signatures': [sig]})\n"
        "print(type(img.signatures[0]).__name__, typed.to_data(img)['signatures'][0]['source'])\n"
        "try:\n"
        "    typed.from_data(ImageFacts, {'ref': 'r', 'signatures': [{**sig, 'source': 1}]})\n"
        "except typed.DataError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.splitlines() == ["Signature s", "signatures[0].source: expected a string, got int 1"]
