"""Azure DevOps builds, commit statuses and environment checks -> host-neutral facts (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlops_gate.facts.platform import Environment, Run

BUILD_STATUS = {
    "notStarted": "queued",
    "postponed": "queued",
    "none": "queued",
    "inProgress": "in_progress",
    "cancelling": "in_progress",
    "completed": "completed",
}
# partiallySucceeded = some steps failed but were allowed to continue: neither a clean pass nor a failure
BUILD_RESULT = {"succeeded": "success", "partiallySucceeded": "neutral", "failed": "failure", "canceled": "cancelled"}
STATUS_STATE = {"succeeded": "success", "failed": "failure", "error": "error", "notApplicable": "skipped"}

APPROVAL = "8c6f20a7-a545-4486-9777-f762fafe0d4d"
BRANCH_CONTROL = "evaluatebranchprotection"  # the Task Check definition behind "Branch control"


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj


def build_run(build: Mapping[str, Any]) -> Run:
    status = BUILD_STATUS.get(str(build.get("status")), "queued")
    result = BUILD_RESULT.get(str(build.get("result")), "failure") if status == "completed" else None
    return Run(
        name=str(_get(build, "definition", "name") or f"build {build.get('id')}"),
        status=status,
        conclusion=result,
        source="build",
        url=_get(build, "_links", "web", "href") or build.get("url"),
        started_at=build.get("startTime") or build.get("queueTime"),
        id=str(build.get("id", "")),
    )


def status_name(context: Any) -> str:
    genre, name = _get(context, "genre"), _get(context, "name")
    return f"{genre}/{name}" if genre else str(name)


def status_run(status: Mapping[str, Any]) -> Run:
    state = str(status.get("state"))
    pending = state in ("pending", "notSet")
    return Run(
        name=status_name(status.get("context")),
        status="in_progress" if pending else "completed",
        conclusion=None if pending else STATUS_STATE.get(state, "failure"),
        source="status",
        url=str(status.get("targetUrl") or "").strip() or None,
        started_at=status.get("creationDate"),
        id=str(status.get("id", "")),
    )


def _identity(who: Any) -> str:
    return str(_get(who, "uniqueName") or _get(who, "displayName") or _get(who, "id") or who)


def environment(name: str, checks: Iterable[Mapping[str, Any]], url: str | None) -> Environment:
    """One environment from its check configurations (`$expand=settings`)."""
    reviewers: list[str] = []
    minimums: list[int] = []
    self_review: list[bool] = []
    policy = "any"
    patterns: list[str] = []
    other: list[str] = []
    notes: list[str] = []
    for check in checks:
        settings: Mapping[str, Any] = check["settings"] if isinstance(check.get("settings"), Mapping) else {}
        kind = str(_get(check, "type", "name") or "check")
        label = f"{kind} {check.get('id')}"
        if check.get("isDisabled"):
            notes.append(f"check {label} is disabled: ignored")
        elif str(_get(check, "type", "id") or "").lower() == APPROVAL or kind == "Approval":
            approvers = [_identity(a) for a in settings.get("approvers") or ()]
            reviewers.extend(approvers)
            minimum = settings.get("minRequiredApprovers")
            minimums.append(len(approvers) if not minimum else int(minimum))  # 0 = every approver
            self_review.append(not settings.get("requesterCannotBeApprover", False))
        elif str(_get(settings, "definitionRef", "name") or "").lower() == BRANCH_CONTROL:
            inputs: Mapping[str, Any] = settings["inputs"] if isinstance(settings.get("inputs"), Mapping) else {}
            allowed = [b.strip() for b in str(inputs.get("allowedBranches") or "").split(",") if b.strip()]
            patterns.extend(b.removeprefix("refs/heads/") for b in allowed)
            if str(inputs.get("ensureProtectionOfBranch", "")).lower() == "true":
                policy = "protected"
            elif allowed and "*" not in allowed and policy != "protected":
                policy = "patterns"
        else:
            other.append(f"{kind}: {settings.get('displayName') or _get(settings, 'definitionRef', 'name') or label}")
    if not minimums:
        notes.append("no approval check: a deployment to this environment needs nobody's approval")
    return Environment(
        name=name,
        exists=True,
        reviewers=tuple(dict.fromkeys(reviewers)),
        min_approvals=max(minimums, default=0),
        self_review_allowed=all(self_review),
        branch_policy=policy,
        branch_patterns=tuple(dict.fromkeys(patterns)),
        other_rules=tuple(other),
        notes=tuple(notes),
        url=url,
    )
