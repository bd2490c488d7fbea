"""GitLab CI `rules`/`only`/`except` evaluation: the `if:` expression language, the predefined
variables of a merge request or branch pipeline, and whether a job lands in that pipeline."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mlops_gate.checks._pipelines import as_list

FEATURE = "mlops-gate/feature"  # the source branch of the pull request being imagined

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
