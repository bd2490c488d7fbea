"""Go templates as Prometheus (alert labels and annotations) and Alertmanager (notifications, URLs) parse
them: Go's own parse errors, the variables each defines, its functions by release, and the data fields a
template can reach."""

from __future__ import annotations

import pytest

from mlops_gate.lang import gotemplate as gt
from mlops_gate.lang.versions import parse

PROM = gt.prometheus(parse("3.14"))
AM = gt.alertmanager(parse("0.34"))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Instance {{ $labels.instance }} is down", None),
        ("{{ $value | humanizePercentage }} of {{ $externalLabels.cluster }} at {{ $externalURL }}", None),
        ("{{ .Labels.job }} {{ .Value }} {{ .ExternalURL }} {{ $.Labels.x }}", None),
        ("{{ if gt $value 1.0 }}high{{ else if lt $value 0.5 }}low{{ else }}ok{{ end }}", None),
        ("{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}", None),
        ('{{ with query "up" }}{{ . | first | value }}{{ end }}', None),
        ("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", None),
        ("{{/* a comment */}}{{- $value -}}", None),
        ("{{ range $labels }}{{ if . }}{{ break }}{{ end }}{{ continue }}{{ end }}", None),
        ('{{ define "x" }}{{ . }}{{ end }}{{ template "x" $labels }}', None),
        ("{{ printf \"%.2f\" $value }} {{ -1.5e3 }} {{ 0x1F }} {{ 'a' }} {{ `raw` }}", None),
        ('}} is text, {{ "{{" }} is a string', None),
        ("{{ $label.instance }}", 'undefined variable "$label"'),
        ("{{ $this_is_wrong }}", 'undefined variable "$this_is_wrong"'),
        ("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}", 'undefined variable "$y"'),
        ("{{ humanise $value }}", 'function "humanise" not defined'),
        ("{{ $labels.quantile * 100 }}", "unexpected '*' in operand"),
        ("{{ $value ", "unclosed action"),
        ("{{ if $value }}x", "unexpected EOF"),
        ("x {{ end }}", "unexpected {{end}}"),
        ("{{ else }}", "unexpected {{else}}"),
        ("{{ if }}x{{ end }}", "missing value for if"),
        ("{{ }}", "missing value for command"),
        ("{{ break }}", "{{break}} outside {{range}}"),
        ("{{ $value | 3 }}", "non executable command in pipeline stage 2"),
        ("{{ 3x }}", "bad number syntax: '3x'"),
        ('{{ "open }}', "unterminated quoted string"),
        ("{{ /* not a comment */ }}", "unexpected '/' in command"),
        ("{{/* unclosed }}", "unclosed comment"),
        ("{{ (1 }}", "unclosed left paren"),
        ("{{ 1) }}", "unexpected right paren"),
        ("{{ $x, $y := $labels }}", "too many declarations in command"),
        ("{{ a:b }}", "expected :="),
    ],
)
def test_prometheus_templates(text: str, error: str | None) -> None:
    assert gt.check(text, PROM).error == error


def test_the_data_the_alert_runs_with() -> None:
    # parses (promtool accepts it) but fails every time the alert fires: the data has `Labels`, not `labels`
    assert gt.check("{{ $.labels.service }}", PROM) == gt.Checked(
        None, ("can't evaluate field labels in the prometheus data",)
    )
    assert gt.check("{{ .Lables.x }}", PROM).fields == ("can't evaluate field Lables in the prometheus data",)
    assert gt.check("{{ with .Labels }}{{ .anything }}{{ end }}", PROM).fields == ()  # a map: any key


def test_alertmanager_notification_data() -> None:
    good = "{{ range .Alerts.Firing }}{{ .Labels.severity }} {{ .StartsAt }}{{ end }} {{ .CommonLabels.job | toUpper }}"
    assert gt.check(good, AM) == gt.Checked(None)
    bad = "{{ .Statuz }} {{ range .Alerts }}{{ .Lable }}{{ end }}"
    assert gt.check(bad, AM).fields == (
        "can't evaluate field Statuz in the alertmanager data",
        "can't evaluate field Lable in the alert data",
    )
    assert gt.check("{{ $labels.x }}", AM).error == 'undefined variable "$labels"'  # Prometheus's, not Alertmanager's


def test_functions_follow_the_release() -> None:
    assert gt.check("{{ now | toDuration }}", gt.prometheus(parse("3.6"))).error is None
    assert gt.check("{{ now }}", gt.prometheus(parse("3.5"))).error == 'function "now" not defined'
    assert gt.check("{{ .CommonLabels | toJson }}", gt.alertmanager(parse("0.30"))).error is None
    assert (
        gt.check("{{ .CommonLabels | toJson }}", gt.alertmanager(parse("0.25"))).error
        == 'function "toJson" not defined'
    )
    assert gt.check("{{ toUpper .Status }}", gt.PLAIN).error == 'function "toUpper" not defined'  # a bare Parse


def test_else_with_arrived_with_go_1_23() -> None:
    text = "{{ with $labels.a }}a{{ else with $labels.b }}b{{ end }}"
    assert gt.check(text, PROM).error is None
    assert gt.check(text, gt.prometheus(parse("2.42"))).error == "unexpected 'else with'"
