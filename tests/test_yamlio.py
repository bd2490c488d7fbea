"""yamlio's one-walk path (a document without anchors) gives exactly what the alias-aware walks give: the
same documents, lines, units, and the same error with the same line for what it refuses."""

from __future__ import annotations

import random

import pytest

from mlops_gate import yamlio

TRICKY = [
    "a: 1\na: 2\n",
    "a: {b: 1, b: 2}\nc: 1\nc: 2\n",
    "a: " + "[" * 150 + "]" * 150 + "\n",
    "a: 1\na: 2\nb: " + "[" * 150 + "]" * 150 + "\n",
    "? {a: 1}\n: x\n? [1]\n: y\n",
    "a/b: 1\na: {b: 2}\n",
    "x: " + "y" * 10_000 + "\n",
    "k" * 600 + ": {z: 1}\n",
    "---\na: 1\n---\nb: [1, 2]\n---\n- 1\n- {c: d}\n",
    "<<: {a: 1}\n<<: {b: 2}\n",
    "on: push\njobs: {test: {steps: [{run: pytest}]}}\n",
    # scalars as PyYAML's SafeConstructor reads them (with yamlio's YAML 1.2 booleans and no timestamps)
    "x: [1, -2, +3, 0x1F, 0o17, 017, 0b101, 1_000, 1:30, 2.5, -.5, 1e3, .inf, -.Inf, 6.8523e+5, 1:30.5]\n",
    "x: [-0.0, 1., .5, 1.5e-3, 1E5, -00, 010, -0, 0, 12345678901234567890, 1.7976931348623157e309]\n",
    "x: [true, False, TRUE, yes, no, on, off, y, n, null, Null, ~, '', \"\", 2020-01-01, 2001-12-14t21:59:43.10-05:00]\n",
    "x: [!!str 1, !!int '7', !!float '2', !!bool yes, !!bool TRUE, !!null '', !Ref y, ! 3, !Sub {a: b}, !G [1]]\n",
    "x: [!!binary aGk=, !!timestamp 2020-01-01, !!set {a, b}, !!omap [{a: 1}], !!pairs [{a: 1}]]\n",
    "x: !!int abc\n",
    "x: !!bool maybe\n",
    "x: !!python/object:os.system {}\n",
    "x: !!str {a: 1}\n",
    "x: !!map {a: 1}\ny: !!seq [1]\nz: !!map [1]\n",
    "1: a\n0x1: b\ntrue: c\nTrue: d\nnull: e\n~: f\n1.5: g\n'1': h\n",
    "1: a\n1.0: b\ntrue: c\n0: d\nfalse: e\n0.0: f\n-0.0: g\n.nan: h\n.NaN: i\n",  # equal to Python's dict
    "a: !!int abc\nb: 1\nb: 2\n",  # the duplicate key is what PyYAML's path reports first
    "a: !!int\n",
    "a: !!int ''\n",
    "a: !!float ''\n",
    "a: !!timestamp abc\n",
    "a: " + "9" * 5000 + "\n",
    "=: a\nb: =\n? !!binary aW1hZ2U=\n: c\n",
    '"<<": 1\n"<<": 2\n',
    "<<: [{a: 1}, {b: 2}]\nc: 3\n",
    "a: {<<: {x: 1}, y: 2}\n",
    "? [1, 2]\n: x\n",
    "!Tagged {a: 1}\n",
    "plain text\n",
    "- 1\n- [2, {3: 4}]\n",
    "---\n...\n---\n~\n",
]


def _random_doc(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 4 or roll < 0.3:
        return rng.choice(["1", "x", "true", "null", '"s/t"', "a" * rng.randint(0, 200)])
    if roll < 0.65:
        keys = [rng.choice("abcde") for _ in range(rng.randint(0, 4))]
        return "{" + ", ".join(f"{k}: {_random_doc(rng, depth + 1)}" for k in keys) + "}"
    return "[" + ", ".join(_random_doc(rng, depth + 1) for _ in range(rng.randint(0, 4))) + "]"


def _loaded(text: str, units: int | None) -> tuple[object, ...]:
    try:
        got = yamlio.load(text, yamlio.Budget(units))
    except yamlio.YamlSyntaxError as exc:
        return ("error", str(exc), exc.line, exc.bounded)
    # repr: 1, 1.0 and True are equal in Python but not the same value to a check
    return ("loaded", repr(got.documents), got.lines, got.units)


@pytest.mark.parametrize("units", [None, 30, 5])
def test_one_walk_and_the_alias_aware_walks_agree(units: int | None) -> None:
    rng = random.Random(17)
    texts = TRICKY + [f"r: {_random_doc(rng)}\n" for _ in range(600)]
    for text in texts:
        assert "&" not in text
        # an anchor in a comment sends the same documents through the alias-aware walks
        assert _loaded(text, units) == _loaded(text + "# &anchor\n", units), text[:80]


def test_the_loader_has_no_resolver_its_fast_resolve_skips() -> None:
    """yamlio's resolve() and its no-op path-resolver hooks assume no path resolvers and no wildcard
    implicit resolvers (PyYAML's SafeLoader registers none)."""
    loader = yamlio._Loader
    assert not loader.yaml_path_resolvers and None not in loader.yaml_implicit_resolvers
