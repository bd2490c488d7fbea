"""Step Functions state machines (Amazon States Language, JSON or YAML): states, transitions, reachability."""

from __future__ import annotations

from typing import Any

from mlops_gate.facts.files import SourceFile
from mlops_gate.lang.source import error_loc, first_mapping, loc, problem
from mlops_gate.lang.workflow import Workflow

STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")


def stepfunctions(f: SourceFile) -> Workflow:
    w = Workflow("stepfunctions", f)
    if f.error:
        w.bad(problem(f), error_loc(f))
    elif "StartAt" not in first_mapping(f) or "States" not in first_mapping(f):
        w.bad("not a state machine: StartAt and States are required", loc(f))
    else:
        _machine(w, first_mapping(f), ())
        w.evidence.append(f"{f.path}: states {', '.join(w.tasks)}")
    return w


def _machine(w: Workflow, m: Any, path: tuple[object, ...]) -> None:
    f = w.file
    states = m.get("States") if isinstance(m, dict) else None
    if not isinstance(states, dict) or not states:
        w.bad("a state machine needs a non-empty States", loc(f, *path, "States"))
        return
    raw = m.get("StartAt")
    start = raw if isinstance(raw, str) else ""
    if start not in states:
        w.bad(f"StartAt {raw!r} names no state", loc(f, *path, "StartAt"))
    edges: dict[str, list[str]] = {}
    terminal = False
    for name, st in states.items():
        sp = (*path, "States", name)
        w.tasks.append(name)
        if not isinstance(st, dict):
            w.bad(f"state {name} is not an object", loc(f, *sp))
            continue
        kind = st.get("Type")
        if kind not in STATE_TYPES:
            w.bad(f"state {name} has Type {kind!r}; expected one of {', '.join(STATE_TYPES)}", loc(f, *sp))
        targets: list[tuple[Any, tuple[object, ...]]] = [(st["Next"], (*sp, "Next"))] if "Next" in st else []
        if kind == "Choice":
            choices = st.get("Choices")
            if not isinstance(choices, list) or not choices:
                w.bad(f"Choice state {name} has no Choices", loc(f, *sp))
            for n, c in enumerate(choices if isinstance(choices, list) else []):
                if isinstance(c, dict):
                    targets.append((c.get("Next"), (*sp, "Choices", n, "Next")))
            if "Default" in st:
                targets.append((st["Default"], (*sp, "Default")))
        catches = st.get("Catch")
        for n, c in enumerate(catches if isinstance(catches, list) else []):
            targets.append((c.get("Next") if isinstance(c, dict) else None, (*sp, "Catch", n, "Next")))
        for target, kp in targets:
            if not isinstance(target, str) or target not in states:
                field_name = "/".join(map(str, kp[len(sp) :]))
                w.bad(f"state {name}: {field_name} {target!r} names no state", loc(f, *kp))
        end = st.get("End") is True
        terminal = terminal or end or kind in ("Succeed", "Fail")
        if kind in STATE_TYPES and kind not in ("Choice", "Succeed", "Fail") and end == ("Next" in st):
            w.bad(f"state {name} needs exactly one of Next or End: true", loc(f, *sp))
        edges[name] = [str(t) for t, _ in targets]
        if kind == "Parallel":
            branches = st.get("Branches")
            if not isinstance(branches, list) or not branches:
                w.bad(f"Parallel state {name} has no Branches", loc(f, *sp))
            for n, b in enumerate(branches if isinstance(branches, list) else []):
                _machine(w, b, (*sp, "Branches", n))
        if kind == "Map":
            key = "ItemProcessor" if "ItemProcessor" in st else "Iterator"
            _machine(w, st.get(key), (*sp, key))
    if not terminal:
        w.bad("no terminal state (End: true, Succeed or Fail)", loc(f, *path, "States"))
    reached, todo = set(), [start] if start in states else []
    while todo:
        node = todo.pop()
        if node not in reached:
            reached.add(node)
            todo += [n for n in edges.get(node, []) if n in states]
    if start in states:
        for name in states:
            if name not in reached:
                w.bad(f"state {name} is unreachable from StartAt", loc(f, *path, "States", name))
