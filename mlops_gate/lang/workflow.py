"""What every orchestration reader returns: one workflow definition, read without its engine — its kind,
task names, the problems found (with their lines), and evidence. The readers: lang/databricks.py,
lang/airflow.py, lang/stepfunctions.py; lang/orchestration.py picks one for each file."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlops_gate.facts.files import SourceFile
from mlops_gate.model import Location, Violation


@dataclass
class Workflow:
    """One workflow definition as its reader found it: the kind, task names, the problems found and evidence."""

    kind: str
    file: SourceFile
    tasks: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    jobless: str = ""  # why a valid definition holds no workflow (a bundle of apps or pipelines only), else ""

    def bad(self, message: str, where: Location) -> None:
        self.violations.append(Violation(message, where))
