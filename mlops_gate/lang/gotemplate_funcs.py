"""The functions, variables and data Prometheus and Alertmanager give their Go templates, by release
(Prometheus template/template.go, Alertmanager template/template.go), as `gotemplate.check` needs them."""

from __future__ import annotations

from dataclasses import dataclass

from mlops_gate.lang.versions import Version

GO_FUNCS = frozenset(
    "and call html index slice js len not or print printf println urlquery eq ge gt le lt ne".split()  # noqa: SIM905
)
_PROM_FUNCS = (
    "query first label value strvalue args reReplaceAll safeHtml match title toUpper toLower graphLink tableLink "
    "sortByLabel stripPort stripDomain humanize humanize1024 humanizeDuration humanizePercentage "
    "humanizeTimestamp toTime pathPrefix externalURL parseDuration"
)
_PROM_SINCE = {"3.6": "now toDuration", "3.8": "urlQueryEscape"}
_AM_FUNCS = "toUpper toLower title join match safeHtml reReplaceAll stringSlice"
_AM_SINCE = {
    "0.26": "trimSpace",
    "0.28": "date humanizeDuration since tz",
    "0.30": "safeUrl toJson urlUnescape",
    "0.32": "append dict list",
    "0.33": "now",
    "0.34": "base64decode base64encode mustToDate routeLabels toDate",
}
# the fields of the data a template runs with; a map's keys are anything ("map")
TYPES: dict[str, dict[str, str]] = {
    "prometheus": {"Labels": "map", "ExternalLabels": "map", "ExternalURL": "", "Value": ""},
    "alertmanager": {
        **dict.fromkeys(("Receiver", "Status", "ExternalURL", "NotificationReason"), ""),
        **dict.fromkeys(("GroupLabels", "CommonLabels", "CommonAnnotations", "RouteLabels"), "map"),
        "Alerts": "alerts",
    },
    "alerts": {"Firing": "alerts", "Resolved": "alerts"},  # methods returning alert lists
    "alert": {
        **dict.fromkeys(("Status", "StartsAt", "EndsAt", "GeneratorURL", "Fingerprint"), ""),
        "Labels": "map",
        "Annotations": "map",
    },
}
_PROM_VARS = ("$labels", "$externalLabels", "$externalURL", "$value")


@dataclass(frozen=True)
class Flavour:
    """Who reads the template: the functions it defines, the variables it declares, the data it runs with."""

    label: str
    functions: frozenset[str]
    variables: tuple[str, ...] = ()
    root: str = ""  # a TYPES key, or "" when the data is unknown
    else_with: bool = True  # `{{else with}}` (Go 1.23)


def prometheus(version: Version) -> Flavour:
    """Alert labels and annotations: Prometheus's functions, `$labels`/`$value`/..., the alert data."""
    names = _PROM_FUNCS.split() + [
        f for since, fs in _PROM_SINCE.items() if version.at_least(since) for f in fs.split()
    ]
    return Flavour(f"Prometheus {version}", GO_FUNCS | set(names), _PROM_VARS, "prometheus", version.at_least("3.1"))


def alertmanager(version: Version) -> Flavour:
    """Notification texts: Alertmanager's functions and notification data."""
    names = _AM_FUNCS.split() + [f for since, fs in _AM_SINCE.items() if version.at_least(since) for f in fs.split()]
    return Flavour(f"Alertmanager {version}", GO_FUNCS | set(names), (), "alertmanager", version.at_least("0.28"))


PLAIN = Flavour("Go text/template", GO_FUNCS)  # a bare template.New("").Parse, as Alertmanager checks URLs
