"""The one typed mapping behind params, saved facts and the policy schema."""

from __future__ import annotations

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
