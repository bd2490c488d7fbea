"""Which orchestration format each workflow file is written in, and its reader: a Databricks bundle (with the
files its `include:` names), an Airflow DAG file, or a Step Functions state machine."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.lang.airflow import airflow
from mlops_gate.lang.databricks import databricks
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
            base = f.path.rsplit("/", 1)[0] + "/" if "/" in f.path else ""
            patterns = first_mapping(f).get("include") or []
            patterns = [str(p) for p in patterns] if isinstance(patterns, list) else []
            inc = [
                g for g in files.files if any(fnmatch.fnmatch(g.path, base + p) for p in patterns) and g.path != f.path
            ]
            included.update(g.path for g in inc)
            bundles.append(
                (
                    f,
                    inc,
                    [(n, p) for n, p in enumerate(patterns) if not any(fnmatch.fnmatch(q, base + p) for q in paths)],
                )
            )
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
