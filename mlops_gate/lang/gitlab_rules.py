"""GitLab CI `rules`/`only`/`except` evaluation: the `if:` expression language, the predefined
variables of a merge request or branch pipeline, whether a job lands in that pipeline, and whether an
`include:` with `rules` is part of it (three-valued: variables GitLab sets from the project's
settings or the pipeline's trigger cannot be known offline)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate.lang import regexes
from mlops_gate.lang.failure_allowed import why_not_blocking
from mlops_gate.lang.pipelines import as_list

FEATURE = "mlops-gate/feature"  # the source branch of the pull request being imagined


# compiled when a GitLab `if:` expression is first read (a run with no GitLab rules does not pay)
@functools.cache
def _token() -> re.Pattern[str]:
    return re.compile(
        r"\s*(\$\{?\w+\}?|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|/(?:[^/\\]|\\.)*/i?|==|!=|=~|!~"
        r"|&&|\|\||\(|\)|null)"
    )


Tri = bool | None  # None: cannot be decided offline


class _Unknown:
    """The value of a variable that cannot be known offline."""


UNKNOWN = _Unknown()
_Value = str | None | _Unknown


def _known(name: str) -> bool:
    return False


def gl_if(expr: str, env: Mapping[str, str]) -> bool:
    """Evaluate a GitLab `if:` expression; unset variables are null, as in GitLab. Bad syntax: false."""
    return gl_if3(expr, env) is True


def gl_if3(expr: str, env: Mapping[str, str], unknown: Callable[[str], bool] = _known) -> Tri:
    """`gl_if` in three-valued logic: a variable not in `env` for which `unknown(name)` holds makes
    what depends on it undecided (None); `&&` and `||` still decide when one side does."""
    tokens, pos, end = [], 0, len(expr.rstrip())
    while pos < end:
        m = _token().match(expr, pos)
        if not m:
            return False
        tokens.append(m.group(1))
        pos = m.end()
    try:
        value, at = _or(tokens, 0, env, unknown)
    except (IndexError, ValueError, RecursionError):
        return False
    return value if at == len(tokens) else False


# each step takes the tokens and the index of the next one, and returns its value and the index after it
# (indices, not slices: a long `&&` chain stays linear)
def _or(t: list[str], i: int, env: Mapping[str, str], unk: Callable[[str], bool]) -> tuple[Tri, int]:
    value, i = _and(t, i, env, unk)
    while i < len(t) and t[i] == "||":
        right, i = _and(t, i + 1, env, unk)
        value = True if True in (value, right) else None if None in (value, right) else False
    return value, i


def _and(t: list[str], i: int, env: Mapping[str, str], unk: Callable[[str], bool]) -> tuple[Tri, int]:
    value, i = _atom(t, i, env, unk)
    while i < len(t) and t[i] == "&&":
        right, i = _atom(t, i + 1, env, unk)
        value = False if False in (value, right) else None if None in (value, right) else True
    return value, i


def _atom(t: list[str], i: int, env: Mapping[str, str], unk: Callable[[str], bool]) -> tuple[Tri, int]:
    if t[i] == "(":
        value, i = _or(t, i + 1, env, unk)
        if i >= len(t) or t[i] != ")":
            raise ValueError("unbalanced")
        return value, i + 1
    left = _operand(t[i], env, unk)
    if len(t) > i + 2 and t[i + 1] in ("==", "!=", "=~", "!~"):
        op, right = t[i + 1], _operand(t[i + 2], env, unk)
        if isinstance(left, _Unknown) or isinstance(right, _Unknown):
            return None, i + 3
        if op in ("==", "!="):
            return (left == right) == (op == "=="), i + 3
        return _regex_match(left, right) == (op == "=~"), i + 3
    return (None if isinstance(left, _Unknown) else bool(left)), i + 1


def _regex_match(value: str | None, pattern: str | None) -> bool:
    if value is None or pattern is None:
        return False
    flags = re.I if pattern.startswith("/") and pattern.endswith("/i") else 0
    body = (
        pattern[1:-2] if flags else pattern[1:-1] if len(pattern) > 1 and pattern[0] == pattern[-1] == "/" else pattern
    )
    found = regexes.search(body, value, ignore_case=bool(flags))  # GitLab evaluates RE2 (UntrustedRegexp)
    if found is None:
        raise ValueError(f"invalid regular expression {pattern}")  # the whole `if:` is false, as before
    return found


def _operand(token: str, env: Mapping[str, str], unk: Callable[[str], bool]) -> _Value:
    if token.startswith("$"):
        name = token.strip("${}")
        return env[name] if name in env else UNKNOWN if unk(name) else None
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
        {k: str(v.get("value") if isinstance(v, dict) else v) for k, v in (doc.get("variables") or {}).items()}
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


def gl_workflow(doc: Mapping[str, Any]) -> list[Any] | None:
    """`workflow: rules:` (None when the pipeline has none)."""
    wf = doc.get("workflow")
    return wf["rules"] if isinstance(wf, dict) and isinstance(wf.get("rules"), list) else None


def gl_rule(rules: list[Any], env: Mapping[str, str]) -> dict[str, Any] | None:
    """The first matching rule (None: no rule matched)."""
    for rule in rules:
        if isinstance(rule, dict) and ("if" not in rule or gl_if(str(rule["if"]), env)):
            return rule
    return None


def gl_rules(rules: list[Any], env: Mapping[str, str]) -> tuple[str | None, bool]:
    """The `when` of the first matching rule (None: no rule matched) and whether it has `changes`."""
    rule = gl_rule(rules, env)
    return (None, False) if rule is None else (str(rule.get("when", "on_success")), "changes" in rule)


def gl_job_runs(job: Mapping[str, Any], env: Mapping[str, str], workflow_rules: bool) -> tuple[bool, str | None]:
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
        problem = "runs only when files change (only:changes)" if isinstance(only, dict) and "changes" in only else None
    else:
        runs, problem = True, None
    if runs and job.get("when") == "manual" and not isinstance(job.get("rules"), list):
        problem = problem or "is manual (when: manual)"
    rule = gl_rule(job["rules"], env) if isinstance(job.get("rules"), list) else None
    allowed = rule["allow_failure"] if rule is not None and "allow_failure" in rule else job.get("allow_failure")
    why = why_not_blocking(allowed, "allow_failure", yaml11=True)  # a rule's allow_failure wins over the job's
    if runs and why:
        problem = problem or f"allows failure {why}"
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


# --- include:rules --------------------------------------------------------------------------------

SOURCES = (
    "push",
    "merge_request_event",
    "schedule",
    "web",
    "api",
    "trigger",
    "pipeline",
    "parent_pipeline",
    "external_pull_request_event",
    "chat",
    "webide",
    "ondemand_dast_scan",
    "ondemand_dast_validation",
    "security_orchestration_policy",
)  # every value of $CI_PIPELINE_SOURCE


@dataclass(frozen=True)
class Env:
    """One kind of pipeline as `include:rules` see it: the predefined variables set (`known`) and the
    name prefixes known unset. Any other variable, a project, group or pipeline variable (`include`
    cannot see the file's own `variables:`), is unknown offline."""

    known: tuple[tuple[str, str], ...]
    unset: tuple[str, ...]

    def rule_matches(self, rule: Mapping[str, Any]) -> Tri:
        """All of a rule's clauses hold; `changes` and `exists` cannot be decided offline."""
        env = dict(self.known)
        match = gl_if3(str(rule["if"]), env, lambda v: not v.startswith(self.unset)) if "if" in rule else True
        return False if match is False else None if match is None or "changes" in rule or "exists" in rule else True


@dataclass(frozen=True)
class Scope:
    """The pipelines an include's `rules` are judged for: it is in them when it is in any of `envs`.
    An include whose rules cannot be decided counts as present when `keep_uncertain` (it could be)."""

    label: str
    envs: tuple[Env, ...]
    keep_uncertain: bool = False

    def includes(self, rules: list[Any]) -> Tri:
        results = [_include_rules([r for r in rules if isinstance(r, dict)], e) for e in self.envs]
        return True if True in results else None if None in results else False


def _include_rules(rules: list[Mapping[str, Any]], env: Env) -> Tri:
    """The first matching rule decides (`when: never` leaves the file out); no match leaves it out."""
    for i, rule in enumerate(rules):
        match = env.rule_matches(rule)
        if match is False:
            continue
        applies = bool(rule.get("when", "always") != "never")
        if match:
            return applies
        return applies if _include_rules(rules[i + 1 :], env) == applies else None
    return False


_NO_MR = ("CI_MERGE_REQUEST_", "CI_EXTERNAL_PULL_REQUEST_")
_MR_UNSET = ("CI_COMMIT_TAG", "CI_COMMIT_BRANCH", "CI_EXTERNAL_PULL_REQUEST_")


def pr_scope(branch: str, mr: bool, keep_uncertain: bool = False) -> Scope:
    """A merge request pipeline into `branch` (`mr`) or a push pipeline of its source branch."""
    env = gl_env({}, branch, mr)
    env.pop("CI_PROJECT_PATH")  # made up for job rules; a rule naming the project must stay undecided
    label = f"{'merge request' if mr else 'branch'} pipelines into {branch}"
    unset = _MR_UNSET if mr else ("CI_COMMIT_TAG", *_NO_MR)
    return Scope(label, (Env(tuple(sorted(env.items())), unset),), keep_uncertain)


def any_scope(branch: str) -> Scope:
    """Any pipeline (every `$CI_PIPELINE_SOURCE`, any ref): what some pipeline could include."""
    envs = tuple(
        Env(
            (("CI_DEFAULT_BRANCH", branch), ("CI_PIPELINE_SOURCE", s)),
            _MR_UNSET if s == "merge_request_event" else ("CI_MERGE_REQUEST_",) if s.startswith("external") else _NO_MR,
        )
        for s in SOURCES
    )
    return Scope("any pipeline", envs, keep_uncertain=True)
