"""What is being gated: CI detection from the environment, merged with the policy and flags."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """What is being gated: the repository, branch and commit on their platform (and its API), the CI event, and
    the model, image, Prometheus, Alertmanager or release judged."""

    platform: str | None = None  # github | gitlab | azure
    repository: str | None = None  # owner/name, group/project, org/project/repo
    branch: str | None = None
    commit: str | None = None
    model: str | None = None  # NAME@ALIAS or NAME/VERSION
    image: str | None = None
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    api_url: str | None = None
    release: str | None = None
    base_branch: str | None = None  # the branch a pull/merge request targets
    event: str | None = None  # push | pull_request | merge_request | tag | manual


PLATFORMS = ("github", "gitlab", "azure")
FIELDS = tuple(f.name for f in dataclasses.fields(Target))


def _ref_to_branch(ref: str | None) -> str | None:
    if not ref:
        return None
    for prefix in ("refs/heads/", "refs/pull/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :] if prefix == "refs/heads/" else None
    return None if ref.startswith("refs/tags/") else ref


MAX_EVENT_BYTES = 16 * 1024 * 1024  # a GitHub event payload larger than this is not read


def _event_payload(env: Mapping[str, str]) -> dict[str, Any]:
    """The GitHub Actions event payload (the JSON file named by GITHUB_EVENT_PATH); {} when it is absent,
    unreadable, too large or not a JSON object — detection never fails on it."""
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_EVENT_BYTES + 1)
        if len(data) > MAX_EVENT_BYTES:
            return {}
        payload = json.loads(data)
    except (OSError, ValueError, RecursionError):  # ValueError: bad JSON or bad UTF-8
        return {}
    return payload if isinstance(payload, dict) else {}


def _dig(data: Any, *keys: str) -> str | None:
    """data[k1][k2]... when every step is a mapping and the end is a non-empty string."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, str) and data else None


# GitHub events whose job checks out a pull request by default (GITHUB_REF refs/pull/N/merge), or whose
# workflows commonly do (pull_request_target checks out the base, and often the head explicitly), and the
# merge queue; any other `pull_request*` event, a `refs/pull/*` ref, and any event whose payload names a
# pull request (`pull_request`) are taken for one too (fail closed: without a target branch the run stops).
GITHUB_PR_EVENTS = (
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
    "merge_group",
)


def _github_pr(event: str | None, payload: dict[str, Any], ref: str) -> bool:
    """No event GitHub documents but pull request ones carries a top-level `pull_request` (workflow_run,
    check_run and issue_comment name requests deeper down: their jobs check out a request's head only when
    told to, and must then pass --base-branch, docs/security.md)."""
    named = event in GITHUB_PR_EVENTS or (event or "").startswith("pull_request")
    return named or ref.startswith("refs/pull/") or isinstance(payload.get("pull_request"), dict)


def detect(env: Mapping[str, str]) -> Target:
    """The target as the CI system running us describes it (empty outside CI).

    GitHub: a pull request event (GITHUB_PR_EVENTS, `refs/pull/*`, or an unknown event whose payload names a
    pull request) is judged as one; for `merge_group` (merge queue) the target branch comes from the event
    payload (`merge_group.base_ref`: GITHUB_BASE_REF is not set), for the others from GITHUB_BASE_REF or
    `pull_request.base.ref` (review events set no GITHUB_BASE_REF); the commit is the pull request's head
    (`pull_request.head.sha`), where check runs and statuses are attached, not GITHUB_SHA (a merge commit) —
    GITHUB_SHA when the payload is absent or unreadable. GitLab: merge request pipelines and external pull
    request pipelines (a GitHub pull request built by GitLab CI). Azure Pipelines: pull request builds."""
    if env.get("GITHUB_ACTIONS") == "true":
        event = env.get("GITHUB_EVENT_NAME") or None
        payload = _event_payload(env)
        is_pr = _github_pr(event, payload, env.get("GITHUB_REF") or "")
        commit, base_branch = env.get("GITHUB_SHA") or None, env.get("GITHUB_BASE_REF") or None
        head_ref = env.get("GITHUB_HEAD_REF") or None
        if event == "merge_group":
            base_branch = base_branch or _ref_to_branch(_dig(payload, "merge_group", "base_ref"))
        elif is_pr:
            head = _dig(payload, "pull_request", "head", "sha")
            commit = head if head and re.fullmatch(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}", head) else commit
            base_branch = base_branch or _dig(payload, "pull_request", "base", "ref")
            head_ref = head_ref or _dig(payload, "pull_request", "head", "ref")
        return Target(
            platform="github",
            repository=env.get("GITHUB_REPOSITORY") or None,
            branch=(head_ref if is_pr else _ref_to_branch(env.get("GITHUB_REF"))) or None,
            commit=commit,
            api_url=env.get("GITHUB_API_URL") or None,
            base_branch=base_branch,
            release=env.get("GITHUB_REF_NAME") if env.get("GITHUB_REF_TYPE") == "tag" else None,
            event="pull_request" if is_pr else event,
        )
    if env.get("GITLAB_CI") == "true":
        mr, external = env.get("CI_MERGE_REQUEST_IID"), env.get("CI_EXTERNAL_PULL_REQUEST_IID")
        source = env.get("CI_PIPELINE_SOURCE") or None
        is_pr = bool(mr or external) or source in ("merge_request_event", "external_pull_request_event")
        head = env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME")
        base = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") or env.get("CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME")
        return Target(
            platform="gitlab",
            repository=env.get("CI_PROJECT_PATH") or None,
            branch=(head if is_pr else env.get("CI_COMMIT_BRANCH")) or None,
            commit=env.get("CI_COMMIT_SHA") or None,
            api_url=env.get("CI_API_V4_URL") or env.get("CI_SERVER_URL") or None,
            base_branch=(base if is_pr else None) or None,
            release=env.get("CI_COMMIT_TAG") or None,
            event="merge_request" if is_pr else source,
        )
    if env.get("TF_BUILD") == "True" or env.get("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"):
        collection = env.get("SYSTEM_COLLECTIONURI") or env.get("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")
        org = _azure_org(collection)
        project, repo = env.get("SYSTEM_TEAMPROJECT"), env.get("BUILD_REPOSITORY_NAME")
        is_pr = env.get("BUILD_REASON") == "PullRequest" or bool(
            env.get("SYSTEM_PULLREQUEST_PULLREQUESTID") or env.get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER")
        )
        source = env.get("BUILD_SOURCEBRANCH")
        target_branch = env.get("SYSTEM_PULLREQUEST_TARGETBRANCH") or env.get("SYSTEM_PULLREQUEST_TARGETBRANCHNAME")
        return Target(
            platform="azure",
            repository="/".join(p for p in (org, project, repo) if p) or None,
            branch=_ref_to_branch(env.get("SYSTEM_PULLREQUEST_SOURCEBRANCH") if is_pr else source),
            commit=env.get("BUILD_SOURCEVERSION") or None,
            api_url=collection or None,
            base_branch=_ref_to_branch(target_branch) if is_pr else None,
            release=source[len("refs/tags/") :] if source and source.startswith("refs/tags/") else None,
            event="pull_request" if is_pr else (env.get("BUILD_REASON") or None),
        )
    return Target()


def _azure_org(url: str | None) -> str | None:
    if not url:
        return None
    m = re.match(r"https?://dev\.azure\.com/([^/]+)", url) or re.match(r"https?://([^./]+)\.visualstudio\.com", url)
    if m:
        return m.group(1)
    path = [p for p in url.split("://", 1)[-1].split("/")[1:] if p]
    return path[-1] if path else None  # Azure DevOps Server: https://host/tfs/<collection>/


def merge(*layers: Target) -> Target:
    """Later layers win, field by field, where they say something."""
    values: dict[str, str | None] = {}
    for layer in layers:
        for name in FIELDS:
            value = getattr(layer, name)
            if value:
                values[name] = value
    return Target(**values)


def without_credentials(target: Target) -> tuple[Target, list[str]]:
    """Drop user:password@ from URLs: credentials come only from the environment, and never appear in
    a report, a log or a facts file."""
    from urllib.parse import urlsplit, urlunsplit

    changes: dict[str, str] = {}
    for name in ("api_url", "prometheus_url", "alertmanager_url"):
        url = getattr(target, name)
        parts = urlsplit(url) if url else None
        if parts is not None and "@" in parts.netloc:
            changes[name] = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return dataclasses.replace(target, **changes), sorted(changes)


def subject_name(target: Target, root: str) -> str:
    """How the repository appears in result subjects."""
    from pathlib import Path

    return target.repository or Path(root).resolve().name or "."
