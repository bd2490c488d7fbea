"""The CI job model shared by the ci and cd checks: one `Job` per job of a GitHub workflow,
`.gitlab-ci.yml` (with `extends:` merged) or Azure pipeline, what runs inside it, and whether it is
a test job."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_gate.facts.files import SourceFile

PR_EVENTS = ("pull_request", "pull_request_target", "merge_group")
CMD_KEYS = frozenset({"run", "script", "bash", "pwsh", "powershell", "inlineScript"})
GL_RESERVED = frozenset(
    {
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "types",
        "spec",
    }
)
AZ_TEST_TASKS = ("vstest@", "publishtestresults@")
CI_GLOBS = ".github/workflows/*, .gitlab-ci.yml, Azure pipelines (any YAML file of their shape)"


@dataclass(frozen=True)
class Job:
    """One job of a CI file: its key path (for lines), id, display name, body and run condition."""

    keys: tuple[object, ...]
    id: str
    name: str | None
    body: Mapping[str, Any]
    condition: str | None = None


def platform_of(path: str) -> str:
    return "github" if path.startswith(".github/") else "gitlab" if path.endswith(".gitlab-ci.yml") else "azure"


def has_spec(f: SourceFile) -> bool:
    """A GitLab file opening with a `spec:` header (`spec: inputs:`, then `---` and the jobs)."""
    first = f.documents[0] if f.documents else None
    return len(f.documents) > 1 and isinstance(first, dict) and set(first) == {"spec"}


def top_index(f: SourceFile) -> int:
    """The document holding the file's configuration: the second one after a `spec:` header."""
    return 1 if has_spec(f) else 0


def top(f: SourceFile) -> dict[str, Any]:
    doc = f.documents[top_index(f)] if f.documents else None
    return doc if isinstance(doc, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def jobs_of(f: SourceFile) -> list[Job]:
    doc, kind = top(f), platform_of(f.path)
    if kind == "github":
        jobs = doc.get("jobs")
        return [
            Job(("jobs", k), k, _str(v.get("name")), v, _str(v.get("if")))
            for k, v in (jobs.items() if isinstance(jobs, dict) else ())
            if isinstance(v, dict)
        ]
    if kind == "gitlab":
        return [Job((k,), k, None, body) for k, body in gitlab_jobs(doc).items()]
    out: list[Job] = []
    stages: list[Any] = doc["stages"] if isinstance(doc.get("stages"), list) else [{"jobs": doc.get("jobs")}]
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict):
            continue
        prefix: tuple[object, ...] = ("stages", i) if "stages" in doc else ()
        for j, job in enumerate(as_list(stage.get("jobs"))):
            if isinstance(job, dict) and ("job" in job or "deployment" in job):
                cond = " ".join(c for c in (_str(stage.get("condition")), _str(job.get("condition"))) if c)
                jid = str(job.get("deployment") or job.get("job"))
                out.append(Job((*prefix, "jobs", j), jid, _str(job.get("displayName")), job, cond or None))
    if isinstance(doc.get("steps"), list):
        out.append(Job(("steps",), "steps", None, {"steps": doc["steps"]}))
    return out


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def gitlab_jobs(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Visible jobs with `extends:` merged in (hidden `.jobs` are templates, not jobs)."""
    defs = {k: v for k, v in doc.items() if isinstance(v, dict) and k not in GL_RESERVED}

    def resolve(name: str, seen: frozenset[str]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for parent in as_list(defs[name].get("extends")):
            if isinstance(parent, str) and parent in defs and parent not in seen and len(seen) < 11:
                merged = deep_merge(merged, resolve(parent, seen | {parent}))
        return deep_merge(merged, {k: v for k, v in defs[name].items() if k != "extends"})

    return {k: resolve(k, frozenset({k})) for k in defs if not k.startswith(".")}


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def commands(node: Any, under: bool = False) -> Iterator[str]:
    """Every shell line of a job: `run:`, `script:`, `bash:`... at any depth (steps, strategies)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from commands(v, under or k in CMD_KEYS)
    elif isinstance(node, list):
        for v in node:
            yield from commands(v, under)
    elif under and isinstance(node, str):
        yield node


def skips_pull_requests(cond: str | None) -> bool:
    """A condition that only lets pushes, tags or one branch through never runs on a pull request."""
    if not cond:
        return False
    events = re.findall(r"github\.event_name\s*==\s*['\"](\w+)['\"]", cond)
    if events and not set(events) & set(PR_EVENTS):
        return True
    return bool(
        re.search(
            r"github\.ref\s*==\s*['\"]refs/|startsWith\(\s*github\.ref\s*,"
            r"|ne\(\s*variables\[['\"]Build\.Reason['\"]\]\s*,\s*['\"]PullRequest['\"]"
            r"|eq\(\s*variables\[['\"]Build\.SourceBranch['\"]\]",
            cond,
            re.I,
        )
    )


REPORT_ACTIONS = (
    "dorny/test-reporter@",
    "enricomi/publish-unit-test-result-action@",
    "enricomi/publish-unit-test-result-action/",
    "mikepenz/action-junit-report@",
    "test-summary/action@",
)


def is_test_job(job: Job, test_jobs: Sequence[str], test_commands: Sequence[str]) -> bool:
    """A job that runs a test command or task, or publishes a test report (`test_jobs` names alone are not
    enough: a job named `test` that only runs `echo` tests nothing)."""
    return test_reason(job, test_commands) is not None


def named_like_test(job: Job, test_jobs: Sequence[str]) -> bool:
    names = [n.lower() for n in (job.id, job.name) if n]
    return any(fnmatch.fnmatchcase(n, g.lower()) for n in names for g in test_jobs)


def test_reason(job: Job, test_commands: Sequence[str]) -> str | None:
    """What makes the job a test job: `runs pytest`, `runs VSTest@2`, `publishes a test report (...)`; None
    when it does neither."""
    words = list(zip(test_commands, _words(test_commands), strict=True))
    for step in _steps(job.body):
        task = str(step.get("task", ""))
        inputs = step.get("inputs")
        if task.lower().startswith("vstest@"):
            return f"runs {task}"
        if task.lower().startswith("publishtestresults@"):
            return f"publishes a test report ({task})"
        if task.lower().startswith("dotnetcorecli@") and isinstance(inputs, dict) and inputs.get("command") == "test":
            return f"runs {task} test"
        uses = str(step.get("uses", ""))
        if uses.lower().startswith(REPORT_ACTIONS):
            return f"publishes a test report ({uses})"
    for line in commands(job.body):
        for name, w in words:
            if w.search(line):
                return f"runs {name}"
    artifacts = job.body.get("artifacts")
    reports = artifacts.get("reports") if isinstance(artifacts, dict) else None
    if isinstance(reports, dict) and reports.get("junit"):
        return "publishes a test report (artifacts:reports:junit)"
    return None


def test_steps(job: Job, test_commands: Sequence[str]) -> list[dict[str, Any]]:
    """The steps of a job (GitHub, Azure) that run a test task or a test command."""
    words = _words(test_commands)
    out = []
    for step in _steps(job.body):
        task = str(step.get("task", "")).lower()
        inputs = step.get("inputs")
        dotnet_test = task.startswith("dotnetcorecli@") and isinstance(inputs, dict) and inputs.get("command") == "test"
        if task.startswith(AZ_TEST_TASKS) or dotnet_test or any(w.search(c) for c in commands(step) for w in words):
            out.append(step)
    return out


def _words(test_commands: Sequence[str]) -> list[re.Pattern[str]]:
    return [re.compile(rf"(?<![\w.-]){re.escape(c)}(?![\w-])") for c in test_commands]


def _steps(body: Any) -> Iterator[dict[str, Any]]:
    if isinstance(body, dict):
        for k, v in body.items():
            if k == "steps" and isinstance(v, list):
                yield from (s for s in v if isinstance(s, dict))
            else:
                yield from _steps(v)
