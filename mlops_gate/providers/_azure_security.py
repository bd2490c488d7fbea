"""Azure Repos branch permissions: who may force push (and so delete) a branch, and who may bypass its
policies, from the "Git Repositories" security namespace.

What the documentation establishes, and what this module relies on:

* Namespace `2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87` ("Git Repositories"), hierarchical, separator `/`;
  a branch's token is `repoV2/{projectId}/{repositoryId}/refs/heads/{segment}/{segment}...`, each
  `/`-separated segment of the branch name hex-encoded as UTF-16LE (`main` -> `6d00610069006e00`); ACLs on
  the project (`repoV2/{projectId}`), the repository, `refs/heads` and branch folders apply below them
  unless an ACL below sets `inheritPermissions: false`.
* Bits (GitRepositoryPermissions): ForcePush 8 "Force push (rewrite history, delete branches and tags)" —
  "also required to delete a branch"; PolicyExempt 128 "Bypass policies when pushing" — "can push to a
  branch that has branch policies enabled"; PullRequestBypassPolicy 32768 "Bypass policies when completing
  pull requests".
* "A branch that has required policies configured can't be deleted, and requires pull requests for all
  changes": on a protected branch a force push needs both ForcePush and PolicyExempt.
* `GET _apis/accesscontrollists/{namespace}?token=&includeExtendedInfo=true&recurse=` returns ACLs
  (`token`, `inheritPermissions`, `acesDictionary` of `{descriptor, allow, deny, extendedInfo}`);
  `extendedInfo.effectiveAllow/effectiveDeny` combine the explicit and inherited permissions of that
  identity on that token. `GET _apis/identities?descriptors=` (the IMS area: vssps on Azure DevOps
  Services) names the descriptors.

What it does not do: expand group membership (a Deny reaching a user through a group is not seen, and a
user's permissions through its groups are not attributed to the user), or count administrators who could
grant themselves a permission they do not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_gate.errors import FactError
from mlops_gate.facts.platform import BypassActor
from mlops_gate.providers import Meter
from mlops_gate.providers import _azure_api as az
from mlops_gate.providers import _azure_rest as rest

NAMESPACE = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"  # Git Repositories
ROOT = "repoV2"
FORCE_PUSH = 8
POLICY_EXEMPT = 128  # Bypass policies when pushing
PR_BYPASS = 32768  # Bypass policies when completing pull requests
RELEVANT = FORCE_PUSH | POLICY_EXEMPT | PR_BYPASS
IDENTITY_BATCH = 50  # descriptors per identities request
IDENTITY_REQUESTS = 4  # at most this many identities requests per run

NEEDS = (
    "reading branch permissions needs a token that may read the Git Repositories security namespace "
    "(PAT scope Security (Manage), vso.security_manage: the only scope the Security API defines)"
)
IDENTITY_NEEDS = "naming them needs Identity (Read), vso.identity"
LIMITS = (
    "branch permissions: group membership is not expanded (a Deny reaching an identity through a group "
    "is not seen), and administrators who could grant themselves a permission are not counted"
)
WHERE = "review them in Project settings > Repositories > Security"


def encode_ref(name: str) -> str:
    """A ref name as the namespace stores it: each `/` segment hex-encoded as UTF-16LE."""
    return "/".join(segment.encode("utf-16-le").hex() for segment in name.split("/"))


def branch_token(project_id: str, repo_id: str, branch: str) -> str:
    return f"{ROOT}/{project_id.lower()}/{repo_id.lower()}/refs/heads/{encode_ref(branch)}"


def _key(token: Any) -> str:
    return str(token).rstrip("/").lower()


def ancestors(token: str) -> list[str]:
    """The token and every token above it, root first (`repoV2`, `repoV2/{project}`, ...)."""
    parts = _key(token).split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def effective(acls: Mapping[str, Mapping[str, Any]], token: str) -> dict[str, int]:
    """descriptor -> the permission bits it is effectively allowed on `token`, walking the ACLs from the
    root down: an ACE's `extendedInfo` effective allow/deny is taken as given (it already folds in what
    is inherited); otherwise an explicit allow or deny replaces the inherited bit. `inheritPermissions:
    false` drops what came from above."""
    state: dict[str, tuple[int, int]] = {}
    for key in ancestors(token):
        acl = acls.get(key)
        if acl is None:
            continue
        if acl.get("inheritPermissions") is False:
            state = {}
        aces = acl.get("acesDictionary")
        for name, ace in aces.items() if isinstance(aces, Mapping) else ():
            if not isinstance(ace, Mapping):
                continue
            descriptor = str(ace.get("descriptor") or name)
            info = ace.get("extendedInfo")
            if isinstance(info, Mapping) and ("effectiveAllow" in info or "effectiveDeny" in info):
                state[descriptor] = (_int(info.get("effectiveAllow")), _int(info.get("effectiveDeny")))
                continue
            allow, deny = _int(ace.get("allow")), _int(ace.get("deny"))
            was_allow, was_deny = state.get(descriptor, (0, 0))
            state[descriptor] = ((was_allow & ~deny) | allow, (was_deny & ~allow) | deny)
    return {d: a & ~n for d, (a, n) in state.items() if a & ~n}


@dataclass(frozen=True)
class Holder:
    """An identity holding at least one of the relevant bits on a branch."""

    kind: str  # group | user | app | identity (unresolved descriptor)
    name: str
    bits: int


@dataclass(frozen=True)
class Permissions:
    """What one branch's permissions allow: force push, deletion, and who may bypass its policies (None: not known)."""

    force_push_allowed: bool | None
    deletion_allowed: bool | None
    bypass_actors: tuple[BypassActor, ...] | None
    notes: tuple[str, ...] = ()


def _names(holders: Iterable[Holder]) -> str:
    return ", ".join(f"{h.kind} {h.name}" for h in holders)


def judge(holders: Sequence[Holder], protected: bool) -> Permissions:
    """Force push, deletion and bypass on one branch from the identities' effective bits."""
    exempt = [h for h in holders if h.bits & POLICY_EXEMPT]
    pr_only = [h for h in holders if h.bits & PR_BYPASS and not h.bits & POLICY_EXEMPT]
    bypass = tuple(
        [BypassActor(h.kind, h.name, "always") for h in exempt]
        + [BypassActor(h.kind, h.name, "pull_request") for h in pr_only]
    )
    pushers = [h for h in holders if h.bits & FORCE_PUSH]
    notes: list[str] = []
    force: bool | None
    delete: bool | None
    if not protected:
        force = delete = bool(pushers)
        if pushers:
            notes.append(f"may force push and delete the branch: {_names(pushers)}")
    elif not pushers or not exempt:
        force = delete = False  # policies refuse every direct push and the deletion of the branch
    elif both := [h for h in pushers if h.bits & POLICY_EXEMPT]:
        force, delete = True, None
        notes.append(
            f"may force push past the branch policies (Force push + Bypass policies when pushing): "
            f"{_names(both)}; whether they may also delete a branch with required policies is not "
            "documented"
        )
    elif all(h.kind == "user" for h in pushers + exempt):
        force = delete = False  # distinct users: no membership can join the two permissions
    else:
        force = delete = None
        notes.append(
            f"Force push is held by {_names(pushers)} and Bypass policies when pushing by "
            f"{_names(exempt)}: whether one identity gets both through group membership was not read"
        )
    return Permissions(force, delete, bypass, tuple(notes))


@dataclass(frozen=True)
class Security:
    """What was read for the branches of one repository (pure data: judged per branch)."""

    holders: Mapping[str, tuple[Holder, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    error: str | None = None  # why the permissions are unknown

    def permissions(self, branch: str, protected: bool) -> Permissions:
        if self.error is not None:
            return Permissions(None, None, None, (self.error,))
        judged = judge(self.holders.get(branch, ()), protected)
        return Permissions(
            judged.force_push_allowed, judged.deletion_allowed, judged.bypass_actors, judged.notes + self.notes
        )


def unknown(reason: str) -> Security:
    return Security(error=f"force push, branch deletion and policy bypass unknown: {reason}; {WHERE}")


def _property(identity: Mapping[str, Any], name: str) -> str | None:
    props = identity.get("properties")
    prop = props.get(name) if isinstance(props, Mapping) else None
    value = prop.get("$value") if isinstance(prop, Mapping) else None
    return str(value) if value else None


def identity_name(identity: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, name) of an IMS identity: groups by their provider display name (`[project]\\Group`),
    users by their account (sign-in address), service identities as apps."""
    descriptor = str(identity.get("descriptor") or "")
    display = str(identity.get("providerDisplayName") or identity.get("customDisplayName") or descriptor)
    if identity.get("isContainer"):
        return "group", display
    if descriptor.lower().startswith("microsoft.teamfoundation.serviceidentity;"):
        return "app", display
    return "user", _property(identity, "Account") or display


def _acls(api: az.AzureApi, meter: Meter, project_id: str, repo_id: str) -> dict[str, Mapping[str, Any]]:
    """The ACLs of the organisation root, the project (each alone) and the repository with everything
    below it (`recurse`): three requests whatever the number of branches."""
    found: dict[str, Mapping[str, Any]] = {}
    project_id, repo_id = project_id.lower(), repo_id.lower()
    for token, recurse in ((ROOT, False), (f"{ROOT}/{project_id}", False), (f"{ROOT}/{project_id}/{repo_id}", True)):
        query = {"token": token, "includeExtendedInfo": True, "recurse": recurse}
        body, _, url = api.get(rest.ACLS, "Git repository permissions", {"securityNamespaceId": NAMESPACE}, query)
        meter.read(url)
        for acl in az.values(body, "Git repository permissions", url):
            if isinstance(acl, Mapping) and acl.get("token"):
                found[_key(acl["token"])] = acl
    return found


def _identities(api: az.AzureApi, meter: Meter, descriptors: list[str], notes: list[str]) -> dict[str, tuple[str, str]]:
    named: dict[str, tuple[str, str]] = {}
    batches = [descriptors[i : i + IDENTITY_BATCH] for i in range(0, len(descriptors), IDENTITY_BATCH)]
    if len(batches) > IDENTITY_REQUESTS:
        notes.append(
            f"branch permissions: only the first {IDENTITY_REQUESTS * IDENTITY_BATCH} identities "
            "were named; the others are shown by descriptor"
        )
    for batch in batches[:IDENTITY_REQUESTS]:
        try:
            body, _, url = api.get(
                rest.IDENTITIES, "identities", {}, {"descriptors": ",".join(batch), "queryMembership": "None"}
            )
        except FactError as exc:
            notes.append(f"branch permissions: identities shown by descriptor ({exc.message}); {IDENTITY_NEEDS}")
            break
        meter.read(url)
        for identity in az.values(body, "identities", url):
            if isinstance(identity, Mapping) and identity.get("descriptor"):
                named[str(identity["descriptor"]).lower()] = identity_name(identity)
    return named


def read(api: az.AzureApi, meter: Meter, repository: Mapping[str, Any], branches: Sequence[str]) -> Security:
    """The relevant permissions of every identity on each branch, or why they are unknown."""
    project = repository.get("project")
    project_id = project.get("id") if isinstance(project, Mapping) else None
    repo_id = repository.get("id")
    if not branches:
        return Security()
    if not project_id or not repo_id:
        return unknown("the repository response names no project id, so the permission tokens cannot be built")
    try:
        acls = _acls(api, meter, str(project_id), str(repo_id))
    except FactError as exc:
        return unknown(f"{exc.message}; {NEEDS}")
    bits = {
        b: {
            d: v & RELEVANT
            for d, v in effective(acls, branch_token(str(project_id), str(repo_id), b)).items()
            if v & RELEVANT
        }
        for b in branches
    }
    descriptors = sorted({d for held in bits.values() for d in held})
    notes: list[str] = []
    named = _identities(api, meter, descriptors, notes) if descriptors else {}
    holders = {
        b: tuple(
            sorted(
                (Holder(*named.get(d.lower(), ("identity", d)), bits=v) for d, v in held.items()),
                key=lambda h: (h.kind, h.name),
            )
        )
        for b, held in bits.items()
    }
    return Security(holders, (*notes, LIMITS))
