"""Which orchestration format each workflow file is written in, and its reader: a Databricks bundle (with the
files its `include:` names), an Airflow DAG file, or a Step Functions state machine."""

from __future__ import annotations

from collections.abc import Iterator

from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.lang.airflow import airflow
from mlops_gate.lang.databricks import databricks, include_matches
from mlops_gate.lang.source import first_mapping
from mlops_gate.lang.stepfunctions import stepfunctions
from mlops_gate.lang.workflow import Workflow


def _name(f: SourceFile) -> str:
    return f.path.rsplit("/", 1)[-1].lower()


def discover(files: RepoFiles) -> Iterator[Workflow]:
    paths = [f.path for f in files.files]
    included: set[str] = set()
    bundles = []
    for f in files.files:
        if _name(f) in ("databricks.yml", "databricks.yaml"):
            names, rejected = include_matches(f.path, first_mapping(f).get("include"), paths, every_match=True)
            included.update(names)  # a file that is not YAML is reported by the bundle, not judged on its own
            inc = [g for g in files.files if g.path in set(names) and g.path.endswith((".yml", ".yaml", ".json"))]
            bundles.append((f, inc, rejected))
    for f in files.files:
        bundle = next((b for b in bundles if b[0] is f), None)
        if bundle is not None:
            yield databricks(*bundle)
        elif f.path in included:
            continue
        elif f.format == "python":
            yield airflow(f)
        else:
            yield stepfunctions(f)
