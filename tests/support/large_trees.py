"""Deterministic synthetic repositories for the large-repository benchmark (benchmarks/large_repos.py) and the
threaded-versus-serial test: the same seed writes the same bytes.

- `kserve_like`: a bundle-heavy tree like kserve/kserve: release install bundles (multi-document YAML of about
  0.7 MB: CRDs with long schemas, Deployments, RBAC), kustomize folders, a Helm chart (values and templates,
  some not YAML), Python packages, workflows, Dockerfiles, rule files and an Alertmanager config.
- `small_files`: N small files of an ordinary ML repository: Python modules, YAML configs, JSON data,
  Markdown, a few manifests, Dockerfiles and workflows spread among them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = [
    "model",
    "serving",
    "inference",
    "predictor",
    "transformer",
    "explainer",
    "storage",
    "runtime",
    "replica",
    "scale",
    "batch",
    "metric",
    "latency",
    "request",
    "route",
    "canary",
    "traffic",
    "revision",
    "endpoint",
    "protocol",
    "tensor",
    "schema",
    "field",
    "value",
]


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _schema(rng: random.Random, depth: int, indent: int) -> list[str]:
    """An openAPIV3Schema-like block: nested properties with descriptions (what makes CRDs large)."""
    pad = " " * indent
    lines = [f"{pad}type: object", f"{pad}properties:"]
    for i in range(rng.randint(3, 6)):
        name = rng.choice(WORDS) + rng.choice(WORDS).capitalize() + str(i)
        lines.append(f"{pad}  {name}:")
        lines.append(f"{pad}    description: {_sentence(rng, rng.randint(12, 30))}")
        if depth > 0 and rng.random() < 0.6:
            lines.extend(_schema(rng, depth - 1, indent + 4))
        else:
            lines.append(f"{pad}    type: {rng.choice(['string', 'integer', 'boolean'])}")
    return lines


def _crd(rng: random.Random, n: int) -> str:
    name = f"{rng.choice(WORDS)}{n}s.serving.example.io"
    head = [
        "apiVersion: apiextensions.k8s.io/v1",
        "kind: CustomResourceDefinition",
        "metadata:",
        f"  name: {name}",
        "spec:",
        "  group: serving.example.io",
        "  versions:",
        "  - name: v1beta1",
        "    served: true",
        "    storage: true",
        "    schema:",
        "      openAPIV3Schema:",
    ]
    return "\n".join(head + _schema(rng, 4, 8)) + "\n"


def _deployment(rng: random.Random, n: int, pinned: bool) -> str:
    image = f"registry.example.io/serving/controller-{n}" + (
        "@sha256:" + "".join(rng.choice("0123456789abcdef") for _ in range(64)) if pinned else ":v0.11.0"
    )
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: controller-{n}\n  namespace: serving\n  labels:\n    app: controller-{n}\n"
        "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n"
        f"      app: controller-{n}\n  template:\n    metadata:\n      labels:\n        app: controller-{n}\n"
        "    spec:\n      containers:\n      - name: manager\n"
        f"        image: {image}\n        args: [--metrics-addr=:8080, --leader-elect]\n"
        "        resources:\n          limits: {cpu: 100m, memory: 300Mi}\n"
    )


def _rbac(n: int) -> str:
    rules = "".join(
        f"- apiGroups: [serving.example.io]\n  resources: [thing{n}x{i}s]\n  verbs: [get, list, watch]\n"
        for i in range(8)
    )
    return f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: role-{n}\nrules:\n{rules}"


def _bundle(rng: random.Random, size: int, pinned: bool) -> str:
    docs: list[str] = []
    total, n = 0, 0
    while total < size:
        n += 1
        doc = _crd(rng, n) if n % 4 else _deployment(rng, n, pinned) + "---\n" + _rbac(n)
        docs.append(doc)
        total += len(doc)
    return "---\n".join(docs)


def _python(rng: random.Random, n: int, lines: int) -> str:
    out = [f'"""Module {n}: {_sentence(rng, 8)}"""', "", "import json", "import os", ""]
    for i in range(max(1, lines // 6)):
        out += [
            f"def {rng.choice(WORDS)}_{i}(value, scale={rng.randint(1, 9)}):",
            f'    """{_sentence(rng, 10)}"""',
            f"    result = {{'{rng.choice(WORDS)}': value * scale, 'env': os.environ.get('X_{i}')}}",
            "    return json.dumps(result)",
            "",
        ]
    return "\n".join(out) + "\n"


def _config(rng: random.Random, entries: int) -> str:
    lines = [f"# {_sentence(rng, 6)}", "settings:"]
    for i in range(entries):
        lines.append(f"  {rng.choice(WORDS)}_{i}:")
        lines.append(f"    enabled: {rng.choice(['true', 'false'])}")
        lines.append(f"    threshold: {rng.random():.3f}")
        lines.append(f"    note: {_sentence(rng, 6)}")
    return "\n".join(lines) + "\n"


WORKFLOW = """name: {name}
on:
  pull_request:
  push:
    branches: [main]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""
DOCKERFILE = 'FROM python:3.11-slim@sha256:{digest}\nCOPY . /app\nRUN pip install /app\nCMD ["serve"]\n'
RULES = """groups:
  - name: serving
    rules:
      - alert: HighLatency
        expr: histogram_quantile(0.99, rate(request_latency_seconds_bucket[5m])) > 1
        for: 10m
        labels: {severity: page}
        annotations: {summary: p99 latency above 1s}
"""
ALERTMANAGER = """route:
  receiver: team
receivers:
  - name: team
    webhook_configs:
      - url: http://alerts.example.internal/hook
"""
CHART = "apiVersion: v2\nname: serving\nversion: 0.11.0\n"
TEMPLATE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-controller
spec:
  template:
    spec:
      containers:
      - name: manager
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        {{- with .Values.resources }}
        resources: {{ toYaml . | nindent 10 }}
        {{- end }}
"""


def _write(root: Path, rel: str, text: str) -> int:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return len(text.encode())


def _common(root: Path, rng: random.Random) -> None:
    """What every tree has: workflows, Dockerfiles, rules, an Alertmanager config, a drift monitor."""
    for name in ("test", "lint", "e2e", "release"):
        _write(root, f".github/workflows/{name}.yml", WORKFLOW.format(name=name))
    digest = "".join(rng.choice("0123456789abcdef") for _ in range(64))
    for name in ("", "storage/", "router/", "agent/"):
        _write(root, f"{name}Dockerfile", DOCKERFILE.format(digest=digest))
    _write(root, "monitoring/alerts.rules.yml", RULES)
    _write(root, "monitoring/alertmanager.yml", ALERTMANAGER)
    _write(root, "monitoring/drift.py", "import evidently\n\n# data drift report of the predictor\n")


def kserve_like(root: Path, yaml_mb: float = 30.0, seed: int = 17, python_files: int = 1900) -> Path:
    """About `yaml_mb` MB of YAML, most of it in install bundles of ~0.7 MB, in ~2,800 files."""
    rng = random.Random(seed)
    _common(root, rng)
    total = 0
    budget = int(yaml_mb * 1_000_000)
    bundles = max(1, int(budget * 0.9) // 700_000)
    for n in range(bundles):
        total += _write(root, f"install/v0.{n // 4}.{n % 4}/serving.yaml", _bundle(rng, 690_000, pinned=n % 2 == 0))
    n = 0
    while total < budget:  # kustomize folders and e2e manifests
        n += 1
        folder = f"config/{rng.choice(['crd', 'manager', 'rbac', 'webhook', 'runtimes'])}/{n // 40}"
        text = _crd(rng, n) if n % 3 == 0 else _deployment(rng, n, pinned=True) if n % 3 == 1 else _rbac(n)
        total += _write(root, f"{folder}/item{n}.yaml", text)
        if n % 40 == 1:
            _write(root, f"{folder}/kustomization.yaml", "resources:\n" + f"- item{n}.yaml\n")
    _write(root, "charts/serving/Chart.yaml", CHART)
    _write(root, "charts/serving/values.yaml", "image:\n  repository: registry.example.io/serving\n  tag: v0.11.0\n")
    for i in range(40):
        _write(root, f"charts/serving/templates/t{i}.yaml", TEMPLATE if i % 2 else _rbac(i))
    for i in range(python_files):
        _write(root, f"python/pkg{i // 50}/mod{i}.py", _python(rng, i, rng.randint(30, 150)))
    for i in range(python_files // 4):
        _write(root, f"docs/page{i // 50}/p{i}.md", "\n".join(_sentence(rng, 12) for _ in range(20)) + "\n")
    for i in range(python_files // 8):
        _write(root, f"test/data/case{i}.json", json.dumps({"inputs": [rng.random() for _ in range(40)]}))
    return root


def small_files(root: Path, count: int, seed: int = 17) -> Path:
    """`count` files of 1-6 KB: Python 40%, YAML configs 25%, JSON 10%, Markdown 25%; manifests among them."""
    rng = random.Random(seed)
    _common(root, rng)
    for i in range(count - 11):  # _common writes 11
        folder = f"src/area{i // 2000}/pkg{(i // 50) % 40}"
        roll = i % 20
        if roll < 8:
            _write(root, f"{folder}/mod{i}.py", _python(rng, i, rng.randint(20, 80)))
        elif roll < 12:
            _write(root, f"{folder}/conf{i}.yaml", _config(rng, rng.randint(5, 25)))
        elif roll == 12:
            _write(root, f"{folder}/deploy{i}.yaml", _deployment(rng, i, pinned=True))
        elif roll < 15:
            _write(root, f"{folder}/data{i}.json", json.dumps({"rows": [rng.random() for _ in range(80)]}))
        else:
            _write(root, f"{folder}/notes{i}.md", "\n".join(_sentence(rng, 12) for _ in range(12)) + "\n")
    return root
