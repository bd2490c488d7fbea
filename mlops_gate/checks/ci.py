"""ci checks: a test job runs on every pull/merge request (GitHub Actions, GitLab CI, Azure Pipelines).

The job model (`jobs_of`), GitLab `rules`/`only` evaluation and branch filters live here too:
`cd.deploy-via-pipeline` reads the same files the same way.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate.checks._common import error_loc, loc, repo_subject
from mlops_gate.facts import RepoFiles, SourceFile
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.registry import check
from mlops_gate.target import Target

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
FEATURE = "mlops-gate/feature"  # the source branch of the pull request being imagined
CI_GLOBS = ".github/workflows/*, .gitlab-ci.yml, azure-pipelines.yml"


@dataclass(frozen=True)
class Params:
    branches: tuple[str, ...] = ()
    test_jobs: tuple[str, ...] = (
        "test*",
        "*[-_ :]test",
        "*[-_ :]tests",
        "*[-_ :]test[-_ :(]*",
        "*[-_ :]tests[-_ :(]*",
        "pytest*",
        "unit*",
    )
    test_commands: tuple[str, ...] = (
        "pytest",
        "py.test",
        "tox",
        "nox",
        "python -m unittest",
        "make test",
        "hatch test",
        "hatch run test",
    )
    allow_path_filters: bool = False
    accept_branch_pipelines: bool = True
    azure_implicit_pr: bool = False


# --- the job model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One job of a CI file: its key path (for lines), id, display name, body and run condition."""

    keys: tuple[object, ...]
    id: str
    name: str | None
    body: Mapping[str, Any]
    condition: str | None = None


def platform_of(path: str) -> str:
    return (
        "github" if path.startswith(".github/") else "gitlab" if path.endswith(".gitlab-ci.yml") else "azure"
    )


def top(f: SourceFile) -> dict[str, Any]:
    doc = f.documents[0] if f.documents else None
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
                merged = _merge(merged, resolve(parent, seen | {parent}))
        return _merge(merged, {k: v for k, v in defs[name].items() if k != "extends"})

    return {k: resolve(k, frozenset({k})) for k in defs if not k.startswith(".")}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
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


# --- branch filters -------------------------------------------------------------------------------


def gh_glob(pattern: str, name: str) -> bool:
    """GitHub filter glob: `*` stops at `/`, `**` does not, `?`/`+` quantify the previous character."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 1
        elif c == "*":
            out.append("[^/]*")
        elif c in "?+" and out:
            out.append(c)
        elif c == "[" and "]" in pattern[i + 1 :]:
            j = pattern.index("]", i + 1)
            out.append(pattern[i : j + 1])
            i = j
        elif c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.fullmatch("".join(out), name) is not None
    except re.error:
        return pattern == name


def gh_branch_ok(spec: Mapping[str, Any], branch: str) -> bool:
    """`branches` patterns apply in order (a later `!pattern` excludes); `branches-ignore` excludes."""
    if "branches" in spec:
        ok = False
        for p in map(str, as_list(spec["branches"])):
            if gh_glob(p.removeprefix("!"), branch):
                ok = not p.startswith("!")
        return ok
    return not any(gh_glob(str(p), branch) for p in as_list(spec.get("branches-ignore")))


def az_branch_ok(include: list[Any], exclude: list[Any], branch: str) -> bool:
    def hit(pats: list[Any]) -> bool:
        return any(fnmatch.fnmatchcase(branch, str(p).removeprefix("refs/heads/")) for p in pats)

    return hit(include) and not hit(exclude)


def gh_events(on: Any) -> dict[str, Any]:
    """`on:` as {event: config}, from its string, list and mapping forms."""
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {str(e): {} for e in on}
    return {str(k): v if isinstance(v, dict) else {} for k, v in on.items()} if isinstance(on, dict) else {}


# --- GitLab rules ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(\$\{?\w+\}?|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|/(?:[^/\\]|\\.)*/i?|==|!=|=~|!~"
    r"|&&|\|\||\(|\)|null)"
)


def gl_if(expr: str, env: Mapping[str, str]) -> bool:
    """Evaluate a GitLab `if:` expression; unset variables are null, as in GitLab. Bad syntax: false."""
    tokens, pos = [], 0
    while pos < len(expr.rstrip()):
        m = _TOKEN.match(expr, pos)
        if not m:
            return False
        tokens.append(m.group(1))
        pos = m.end()
    try:
        value, rest = _or(tokens, env)
    except (IndexError, ValueError, re.error):
        return False
    return bool(value) and not rest


def _or(t: list[str], env: Mapping[str, str]) -> tuple[bool, list[str]]:
    value, t = _and(t, env)
    while t and t[0] == "||":
        right, t = _and(t[1:], env)
        value = value or right
    return value, t


def _and(t: list[str], env: Mapping[str, str]) -> tuple[bool, list[str]]:
    value, t = _atom(t, env)
    while t and t[0] == "&&":
        right, t = _atom(t[1:], env)
        value = value and right
    return value, t


def _atom(t: list[str], env: Mapping[str, str]) -> tuple[bool, list[str]]:
    if t[0] == "(":
        value, rest = _or(t[1:], env)
        if not rest or rest[0] != ")":
            raise ValueError("unbalanced")
        return value, rest[1:]
    left = _operand(t[0], env)
    if len(t) > 2 and t[1] in ("==", "!=", "=~", "!~"):
        op, right = t[1], _operand(t[2], env)
        if op in ("==", "!="):
            return (left == right) == (op == "=="), t[3:]
        return _regex_match(left, right) == (op == "=~"), t[3:]
    return bool(left), t[1:]


def _regex_match(value: str | None, pattern: str | None) -> bool:
    if value is None or pattern is None:
        return False
    flags = re.I if pattern.startswith("/") and pattern.endswith("/i") else 0
    body = (
        pattern[1:-2]
        if flags
        else pattern[1:-1]
        if len(pattern) > 1 and pattern[0] == pattern[-1] == "/"
        else pattern
    )
    return re.search(body, value, flags) is not None


def _operand(token: str, env: Mapping[str, str]) -> str | None:
    if token.startswith("$"):
        return env.get(token.strip("${}"))
    if token[0] in "\"'":
        return token[1:-1]
    if token == "null":
        return None
    if token.startswith("/"):
        return token
    raise ValueError(token)


def gl_env(doc: Mapping[str, Any], branch: str, mr: bool) -> dict[str, str]:
    """Predefined variables of a merge request pipeline into `branch`, or of a push to its source."""
    env = (
        {
            k: str(v.get("value") if isinstance(v, dict) else v)
            for k, v in (doc.get("variables") or {}).items()
        }
        if isinstance(doc.get("variables"), dict)
        else {}
    )
    env |= {"CI_DEFAULT_BRANCH": branch, "CI_COMMIT_REF_NAME": FEATURE, "CI_PROJECT_PATH": "group/project"}
    if mr:
        return env | {
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_IID": "1",
            "CI_MERGE_REQUEST_ID": "1",
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": branch,
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": FEATURE,
            "CI_MERGE_REQUEST_EVENT_TYPE": "detached",
        }
    return env | {
        "CI_PIPELINE_SOURCE": "push",
        "CI_COMMIT_BRANCH": FEATURE,
        "CI_OPEN_MERGE_REQUESTS": "group/project!1",
    }


def gl_rules(rules: list[Any], env: Mapping[str, str]) -> tuple[str | None, bool]:
    """The `when` of the first matching rule (None: no rule matched) and whether it has `changes`."""
    for rule in rules:
        if isinstance(rule, dict) and ("if" not in rule or gl_if(str(rule["if"]), env)):
            return str(rule.get("when", "on_success")), "changes" in rule
    return None, False


def gl_job_runs(
    job: Mapping[str, Any], env: Mapping[str, str], workflow_rules: bool
) -> tuple[bool, str | None]:
    """Whether the job is in the pipeline `env` describes, and why it may still not gate it."""
    mr = env["CI_PIPELINE_SOURCE"] == "merge_request_event"
    if isinstance(job.get("rules"), list):
        when, changes = gl_rules(job["rules"], env)
        runs, problem = (
            when not in (None, "never"),
            "runs only when files change (rules:changes)" if changes else None,
        )
        problem = problem or ("is manual (when: manual)" if when == "manual" else None)
    elif "only" in job or "except" in job or not workflow_rules:
        only = job.get("only", ["branches", "tags"])
        runs = _gl_only(only, env, mr) and not ("except" in job and _gl_only(job["except"], env, mr))
        problem = (
            "runs only when files change (only:changes)"
            if isinstance(only, dict) and "changes" in only
            else None
        )
    else:
        runs, problem = True, None
    if runs and job.get("when") == "manual" and not isinstance(job.get("rules"), list):
        problem = problem or "is manual (when: manual)"
    if runs and job.get("allow_failure") is True:
        problem = problem or "allows failure (allow_failure: true), so a failing test does not block"
    return runs, problem


def _gl_only(spec: Any, env: Mapping[str, str], mr: bool) -> bool:
    refs, variables = (spec.get("refs"), spec.get("variables")) if isinstance(spec, dict) else (spec, None)
    ref_ok = refs is None or any(_gl_ref(str(r), env, mr) for r in as_list(refs))
    return ref_ok and (variables is None or any(gl_if(str(v), env) for v in as_list(variables)))


def _gl_ref(ref: str, env: Mapping[str, str], mr: bool) -> bool:
    if ref in ("merge_requests", "branches", "pushes"):
        return mr == (ref == "merge_requests")
    if ref.startswith("/") and len(ref) > 1:
        return gl_if(f"$CI_COMMIT_REF_NAME =~ {ref}", env)
    return ref == env.get("CI_COMMIT_REF_NAME")


# --- ci.pr-pipeline -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A test job found running on pull requests into one branch; `problem`: why it cannot gate them."""

    path: str
    line: int | None
    job: str  # "" when the file runs on pull requests but has no test job
    trigger: str
    problem: str | None = None

    def violation(self) -> Violation:
        who = f"job {self.job}" if self.job else "it"
        return Violation(f"{self.path}: {who} {self.problem}", Location(self.path, self.line))


def is_test_job(job: Job, p: Params) -> bool:
    names = [n.lower() for n in (job.id, job.name) if n]
    if any(fnmatch.fnmatchcase(n, g.lower()) for n in names for g in p.test_jobs):
        return True
    for step in _steps(job.body):
        task = str(step.get("task", "")).lower()
        inputs = step.get("inputs")
        dotnet_test = (
            task.startswith("dotnetcorecli@") and isinstance(inputs, dict) and inputs.get("command") == "test"
        )
        if task.startswith(AZ_TEST_TASKS) or dotnet_test:
            return True
    words = [re.compile(rf"(?<![\w.-]){re.escape(c)}(?![\w-])") for c in p.test_commands]
    return any(w.search(line) for line in commands(job.body) for w in words)


def _steps(body: Any) -> Iterator[dict[str, Any]]:
    if isinstance(body, dict):
        for k, v in body.items():
            if k == "steps" and isinstance(v, list):
                yield from (s for s in v if isinstance(s, dict))
            else:
                yield from _steps(v)


def _no_test_job(n: int) -> str:
    return f"runs on pull requests but none of its {n} jobs matches test_jobs or runs a test command"


def _github(f: SourceFile, branch: str, p: Params, files: Mapping[str, SourceFile]) -> list[Run]:
    found = []
    for ev, spec in gh_events(top(f).get("on")).items():
        if ev in PR_EVENTS and (ev == "merge_group" or gh_branch_ok(spec, branch)):
            problem, key = None, None
            if "branches" in spec and "branches-ignore" in spec:
                problem, key = (
                    f"sets both branches and branches-ignore on {ev}, which GitHub rejects",
                    "branches",
                )
            elif ("paths" in spec or "paths-ignore" in spec) and not p.allow_path_filters:
                key = "paths" if "paths" in spec else "paths-ignore"
                problem = f"runs on {ev} only when changed files match its {key} filter (allow_path_filters)"
            elif ev != "merge_group" and "types" in spec and "synchronize" not in as_list(spec["types"]):
                problem, key = (
                    f"runs on {ev} for types {as_list(spec['types'])}: later pushes are not tested",
                    "types",
                )
            line = loc(f, "on", ev, *(key,) if key else ()).line
            found.append((problem is not None, PR_EVENTS.index(ev), ev, problem, line))
    if not found:
        return []
    _, _, ev, problem, line = min(found)
    jobs = jobs_of(f)
    tests = [
        j
        for j in jobs
        if not skips_pull_requests(j.condition) and (is_test_job(j, p) or _calls_tests(j, p, files))
    ]
    if problem or not tests:
        return [Run(f.path, line, "", ev, problem or _no_test_job(len(jobs)))]
    flaky = "continues on error, so a failing test does not block"
    return [
        Run(
            f.path, loc(f, *j.keys).line, j.id, ev, flaky if j.body.get("continue-on-error") is True else None
        )
        for j in tests
    ]


def _calls_tests(job: Job, p: Params, files: Mapping[str, SourceFile]) -> bool:
    """A job calling a local reusable workflow that holds a test job (one level)."""
    called = files.get(str(job.body.get("uses", "")).removeprefix("./"))
    return called is not None and any(is_test_job(j, p) for j in jobs_of(called))


def _gitlab(f: SourceFile, branch: str, p: Params, files: Mapping[str, SourceFile]) -> list[Run]:
    doc = top(f)
    wf = doc.get("workflow")
    wf_rules = wf.get("rules") if isinstance(wf, dict) and isinstance(wf.get("rules"), list) else None
    jobs = [j for j in jobs_of(f) if is_test_job(j, p)]
    runs: dict[str, Run] = {}
    for mr in (True, False) if p.accept_branch_pipelines else (True,):
        env = gl_env(doc, branch, mr)
        if wf_rules is not None and gl_rules(wf_rules, env)[0] in (None, "never"):
            continue
        label = "merge request pipelines" if mr else "branch pipelines"
        for j in jobs:
            ok, problem = gl_job_runs(j.body, env, wf_rules is not None)
            if ok and (j.id not in runs or (runs[j.id].problem and not problem)):
                runs[j.id] = Run(f.path, loc(f, *j.keys).line, j.id, label, problem)
    if runs:
        return list(runs.values())
    where = "merge request pipelines" + (" or branch pipelines" if p.accept_branch_pipelines else "")
    problem = (
        f"has test jobs ({', '.join(j.id for j in jobs)}) but none runs in {where}"
        if jobs
        else f"has none of its {len(jobs_of(f))} jobs matching test_jobs or running a test command"
    )
    line = loc(f, *jobs[0].keys).line if jobs else loc(f, "workflow").line if wf_rules is not None else 1
    return [Run(f.path, line, "", "merge requests", problem)]


def _azure(f: SourceFile, branch: str, p: Params, files: Mapping[str, SourceFile]) -> list[Run]:
    doc = top(f)
    pr, problem, line = doc.get("pr"), None, loc(f, "pr").line
    if "pr" not in doc:
        if not p.azure_implicit_pr:
            return [
                Run(
                    f.path,
                    1,
                    "",
                    "pr",
                    "declares no pr: trigger (set azure_implicit_pr if Azure "
                    "validates pull requests by default here, or by a build-validation branch policy)",
                )
            ]
    elif pr in (None, "none", False):
        return [Run(f.path, line, "", "pr", "turns pull request builds off (pr: none)")]
    elif isinstance(pr, list) and not az_branch_ok(pr, [], branch):
        return []
    elif isinstance(pr, dict):
        br = pr.get("branches")
        inc, exc = (
            (br, [])
            if isinstance(br, list)
            else (as_list(br.get("include")) or ["*"], as_list(br.get("exclude")))
            if isinstance(br, dict)
            else (["*"], [])
        )
        if not az_branch_ok(inc, exc, branch):
            return []
        if pr.get("paths") and not p.allow_path_filters:
            problem, line = (
                "runs on pull requests only when changed files match pr.paths (allow_path_filters)",
                loc(f, "pr", "paths").line,
            )
    jobs = jobs_of(f)
    tests = [j for j in jobs if is_test_job(j, p) and not skips_pull_requests(j.condition)]
    if problem or not tests:
        return [Run(f.path, line, "", "pr", problem or _no_test_job(len(jobs)))]
    return [Run(f.path, loc(f, *j.keys).line, j.id, "pr", problem) for j in tests]


ANALYSERS = {"github": _github, "gitlab": _gitlab, "azure": _azure}


@check(
    "ci.pr-pipeline",
    title="Tests run on every pull/merge request",
    severity=Severity.HIGH,
    needs=("ci_config",),
    params=Params,
)
def pr_pipeline(facts: Mapping[str, Any], params: Params, target: Target) -> Iterator[Outcome]:
    """A test job runs on every pull/merge request into the protected branches.

    Reads `.github/workflows/*`, `.gitlab-ci.yml` and `azure-pipelines.yml`. Passes when, for each
    branch in `branches` (default: the pull request's base branch when known, else `main` or
    `master`), some file runs a **test job** on every pull request into it:

    - GitHub: a `pull_request` or `pull_request_target` trigger (string, list or mapping `on:`)
      whose `branches` / `branches-ignore` filters admit the branch (GitHub globs: `*` stops at `/`,
      `**` does not, a later `!pattern` excludes), or a `merge_group` trigger (the merge queue).
      Jobs whose `if:` only allows push events or a `github.ref` never run on pull requests and do
      not count.
    - GitLab: a job in merge request pipelines (`workflow:rules`, job `rules` with
      `$CI_PIPELINE_SOURCE == "merge_request_event"`, `$CI_MERGE_REQUEST_IID`, target-branch filters,
      `only`/`except: [merge_requests]`), or with `accept_branch_pipelines` (default true) in branch
      pipelines on every push, which GitLab shows on the merge request. Hidden `.jobs` are templates;
      `extends:` is merged. Unset variables are null; `$CI_DEFAULT_BRANCH` is the branch checked.
    - Azure Pipelines: a `pr:` trigger (list or `branches: include/exclude`; `*` spans `/`). Without
      `pr:` a pipeline counts only with `azure_implicit_pr` (GitHub-hosted code, or an Azure Repos
      build-validation policy); `pr: none` is off.

    A job is a test job when its id or name matches a `test_jobs` glob (case-insensitive), or it runs
    one of `test_commands` (pytest, tox, nox, `python -m unittest`, `make test`, ...), or, on Azure, a
    VSTest / PublishTestResults / `dotnet test` task. A job calling a local reusable workflow counts
    when that workflow has a test job.

    Not a gate, and reported when nothing else covers the branch: triggers filtered by `paths`
    or `rules:changes` (the tests would not run on every change; `allow_path_filters: true` accepts
    them), GitHub `types` without `synchronize`, manual jobs, and jobs allowed to fail. No CI file, or
    an unparsable one, fails. Fix: add a job named e.g. `test` that runs your test suite, triggered by
    pull requests into the branch.
    """
    files: RepoFiles = facts["ci_config"]
    subject = repo_subject(target, files)
    broken = [Violation(f"{f.path}: {f.error}", error_loc(f)) for f in files.files if f.error]
    parsed = [f for f in files.files if not f.error]
    evidence = tuple(f"read {f.path}" for f in files.files)
    if not files.files:
        yield Outcome(
            subject, "no CI configuration found", (Violation(f"no CI configuration found ({CI_GLOBS})"),)
        )
        return
    wanted = params.branches or ((target.base_branch,) if target.base_branch else ())
    fallback = ("main", "master") if not wanted else ()
    by_path = {f.path: f for f in parsed}
    runs = {
        b: [r for f in parsed for r in ANALYSERS[platform_of(f.path)](f, b, params, by_path)]
        for b in wanted or fallback
    }
    good = {b: [r for r in rs if not r.problem] for b, rs in runs.items()}
    missing = (
        [b for b in runs if not good[b]] if wanted else ([] if any(good.values()) else ["main or master"])
    )
    violations = list(broken)
    for b in missing:
        violations.append(
            Violation(
                f"no CI job runs tests on pull requests into {b}",
                Location(parsed[0].path) if len(parsed) == 1 else None,
            )
        )
        near = [r for key, rs in runs.items() if key in b.split(" or ") for r in rs if r.problem]
        violations.extend(dict.fromkeys(r.violation() for r in near))
    covered = [b for b in good if good[b]][: None if wanted else 1]
    jobs = len({(r.path, r.job) for b in covered for r in good[b]})
    evidence += tuple(
        f"{r.path}:{r.line}: job {r.job} runs on {r.trigger} into {b}" for b in covered for r in good[b]
    )
    into = " and ".join(covered) if covered else " or ".join(wanted or fallback)
    msg = f"{jobs} test {'job runs' if jobs == 1 else 'jobs run'} on pull requests into {into}"
    if missing and wanted and covered:
        msg += f"; none into {', '.join(missing)}"
    if not wanted:
        msg += " (no base branch given: main or master accepted)"
    if broken:
        msg += f"; {len(broken)} CI file{'s' if len(broken) != 1 else ''} could not be parsed"
    yield Outcome(subject, msg, tuple(violations), evidence)
