"""PromQL by Prometheus release and feature flag: what 3.x reads that 2.x refuses, and the reverse."""

from __future__ import annotations

import pytest

from mlops_gate.lang.promql import promql_problem
from mlops_gate.lang.promql_lex import Dialect
from mlops_gate.lang.versions import parse

V3 = Dialect(parse("3.14"))
V2 = Dialect(parse("2.42"))
FLAGS = Dialect(
    parse("3.14"),
    frozenset({"promql-experimental-functions", "promql-extended-range-selectors", "promql-binop-fill-modifiers"}),
)


@pytest.mark.parametrize(
    "expr",
    [
        'rate(:tensorflow:serving:request_count{status="error"}[5m])',  # a metric name may start with ':'
        ":cockroachdb_capacity_available:ratio < 0.15",
        "max_over_time(rate(x[1m])[30m:1m]) and max_over_time(x[5m:] offset 1h)",  # the subquery's ':' stays a separator
        "x offset 15m - on(a) group_right() y",  # an offset's duration ends at the operator
        "label_join(up, 'dst', ',')",  # no source label is fine
        '{a!=""} or {a=~".+"}',  # matchers that do not match the empty value
    ],
)
def test_every_release_reads(expr: str) -> None:
    assert promql_problem(expr, V2) is None
    assert promql_problem(expr, V3) is None


@pytest.mark.parametrize(
    ("expr", "v2_error"),
    [
        ('{"http.server.request.duration_seconds_bucket"}', "in label matching"),
        ('{"http.server.duration", "service.name"="checkout"}', "in label matching"),
        ('sum by ("service.name") (rate({"http.requests"}[5m]))', "expected a label name in grouping"),
        ("x > 5m", "unexpected duration"),
        ("x[300]", "bad duration"),
        ("rate(up[1m * 2])", "expected ']'"),
        ("histogram_avg(x)", "added in Prometheus 2.51"),
        ("a </ b", "unexpected '</'"),
    ],
)
def test_prometheus_3_reads_what_2_refuses(expr: str, v2_error: str) -> None:
    assert promql_problem(expr, V3) is None
    assert v2_error in (promql_problem(expr, V2) or "")


def test_prometheus_3_refuses_what_2_read() -> None:
    assert promql_problem("holt_winters(x[5m], 0.5, 0.5)", V2) is None
    assert "removed in Prometheus 3.0" in (promql_problem("holt_winters(x[5m], 0.5, 0.5)", V3) or "")


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        ('sort_by_label(up, "instance")', "is not enabled"),
        ("limitk(2, x)", "limitk() is experimental"),
        ("double_exponential_smoothing(x[5m], 0.5, 0.5)", "is not enabled"),
        ("rate(up[1m] anchored)", "anchored modifier is experimental and not enabled"),
        ("rate(a[5m]) + fill(0) rate(b[5m])", "binop fill modifiers are experimental and not enabled"),
    ],
)
def test_experimental_syntax_needs_its_feature_flag(expr: str, error: str) -> None:
    assert error in (promql_problem(expr, V3) or "")
    assert promql_problem(expr, FLAGS) is None


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        ('{a=~".*"}', "vector selector must contain at least one non-empty matcher"),
        ('{a=~"(x"}', "error parsing regexp"),
        ("x{a:b='c'}", "expected a label matching operator"),
        ("round(x, 1, 2)", "expected at most 2 argument(s) in call to 'round', got 3"),
        ("rate(x)", "expected type range vector in call to function 'rate', got instant vector"),
        ("sum(x,)", "trailing commas not allowed"),
        ('{"a", "b"}', "metric name must not be set twice"),
    ],
)
def test_what_prometheus_3_refuses(expr: str, error: str) -> None:
    assert error in (promql_problem(expr, V3) or "")
