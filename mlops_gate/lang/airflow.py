"""Airflow DAG files, read with Python's `ast` (Airflow is never imported): the DAGs and task ids they define."""

from __future__ import annotations

import ast

from mlops_gate.facts.files import SourceFile
from mlops_gate.lang.source import error_loc, problem
from mlops_gate.lang.workflow import Workflow
from mlops_gate.model import Location


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _kwarg(call: ast.expr, name: str) -> ast.expr | None:
    if isinstance(call, ast.Call):
        return next((k.value for k in call.keywords if k.arg == name), None)
    return None


def airflow(f: SourceFile) -> Workflow:
    w = Workflow("airflow", f)
    if f.error:
        w.bad(problem(f), error_loc(f))
        return w
    try:
        tree = ast.parse(f.text or "", filename=f.path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        msg = exc.msg if isinstance(exc, SyntaxError) else str(exc) or type(exc).__name__
        w.bad(f"does not compile: {msg}", Location(f.path, getattr(exc, "lineno", None)))
        return w
    dags: list[str] = []
    dynamic = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name == "DAG" or name.endswith(".DAG"):
                first = node.args[0] if node.args else _kwarg(node, "dag_id")
                dags.append(first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else "?")
            task_id = _kwarg(node, "task_id")
            if isinstance(task_id, ast.Constant) and isinstance(task_id.value, str):
                w.tasks.append(task_id.value)
            elif task_id is not None:
                dynamic += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                name = _dotted(dec)
                if name == "dag" or name.endswith(".dag"):
                    dag_id = _kwarg(dec, "dag_id")
                    dags.append(
                        dag_id.value
                        if isinstance(dag_id, ast.Constant) and isinstance(dag_id.value, str)
                        else node.name
                    )
                elif (name == "task" or name.startswith("task.") or name.endswith(".task")) and _kwarg(
                    dec, "task_id"
                ) is None:
                    w.tasks.append(node.name)
    w.tasks = list(dict.fromkeys(w.tasks))
    if not dags:
        w.bad("defines no DAG (DAG(...), `with DAG(...)` or an @dag function)", Location(f.path, 1))
    elif not w.tasks and not dynamic:
        w.bad(f"DAG {', '.join(map(str, dags))} defines no task", Location(f.path, 1))
    w.evidence.append(f"{f.path}: DAG {', '.join(map(str, dags)) or '-'}: tasks {', '.join(w.tasks) or '-'}")
    return w
