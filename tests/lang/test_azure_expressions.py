"""Azure template expressions decided before a run, and the ones that cannot be."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_gate.lang.azure_expressions import evaluate, substitute

PARAMS = {"runTests": True, "env": "Prod", "count": 2, "name": "unit"}


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("eq(parameters.runTests, true)", True),
        ("eq(parameters['env'], 'prod')", True),  # Azure compares strings case-insensitively
        ("ne(parameters.env, 'prod')", False),
        ("and(parameters.runTests, eq(parameters.count, 2))", True),
        ("or(false, not(parameters.runTests))", False),
        ("parameters.missing", None),
        ("eq(variables['Build.Reason'], 'PullRequest')", None),  # a variable: known only at run time
        ("contains(parameters.env, 'P')", None),
    ],
)
def test_conditions(expr: str, want: bool | None) -> None:
    assert evaluate(expr, PARAMS) is want


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("${{ parameters.name }}", "unit"),
        ("${{ parameters.runTests }}", True),
        ("pytest -k ${{ parameters.name }} --flag=${{ parameters.runTests }}", "pytest -k unit --flag=true"),
        ("${{ variables.x }}", "${{ variables.x }}"),
    ],
)
def test_substitution(value: str, want: Any) -> None:
    assert substitute(value, PARAMS) == want
