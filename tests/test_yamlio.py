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
    return ("loaded", got.documents, got.lines, got.units)


@pytest.mark.parametrize("units", [None, 30, 5])
def test_one_walk_and_the_alias_aware_walks_agree(units: int | None) -> None:
    rng = random.Random(17)
    texts = TRICKY + [f"r: {_random_doc(rng)}\n" for _ in range(600)]
    for text in texts:
        assert "&" not in text
        # an anchor in a comment sends the same documents through the alias-aware walks
        assert _loaded(text, units) == _loaded(text + "# &anchor\n", units), text[:80]
