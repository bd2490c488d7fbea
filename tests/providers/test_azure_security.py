"""Azure Repos branch permissions (the Git Repositories security namespace) through the real SDK, against
hand-written ACLs and identities in the documented REST shapes (security 7.1 and IMS 7.1 examples)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_gate.facts.platform import BranchProtection, BypassActor
from mlops_gate.providers import azure
from mlops_gate.providers._azure_security import branch_token, encode_ref
from tests.support.azure_devops import (
    ACLS,
    IDENTITIES,
    MIN_REVIEWERS,
    REPO_ID,
    business,
    collection,
    ctx_for,
    exact,
    policy,
    refs,
    replay_answers_options,
    serve_acls,
    serve_policies,
    serve_repository,
)
from tests.support.replay import ReplayServer

__all__ = ["replay_answers_options"]

PROJECT_ID = "eb6e4656-77fc-42a1-9181-4c6d8e9da5d1"  # the project id of serve_repository's repository
ROOT, PROJECT_TOKEN, REPO_TOKEN = "repoV2", f"repoV2/{PROJECT_ID}", f"repoV2/{PROJECT_ID}/{REPO_ID}"
MAIN = f"{REPO_TOKEN}/refs/heads/6d00610069006e00"  # main, hex of UTF-16LE

ADMINS = "Microsoft.TeamFoundation.Identity;S-1-9-1551374245-1204400969-2402986413-2179408616-3-1"
CONTRIBUTORS = "Microsoft.TeamFoundation.Identity;S-1-9-1551374245-1204400969-2402986413-2179408616-3-2"
RELEASERS = "Microsoft.TeamFoundation.Identity;S-1-9-1551374245-1204400969-2402986413-2179408616-3-3"
ADA = "Microsoft.IdentityModel.Claims.ClaimsIdentity;7a394543-62fd-4274-a7d2-8fac775942b6\\ada@contoso.com"
BOB = "Microsoft.IdentityModel.Claims.ClaimsIdentity;7a394543-62fd-4274-a7d2-8fac775942b6\\bob@contoso.com"
BUILD_SERVICE = "Microsoft.TeamFoundation.ServiceIdentity;f1c5a2a0-0000-4000-8000-000000000001:Build:eb6e4656"

READ, CONTRIBUTE, FORCE_PUSH, CREATE_BRANCH = 2, 4, 8, 16
POLICY_EXEMPT, MANAGE_PERMISSIONS, PR_BYPASS = 128, 8192, 32768
PROJECT_ADMIN_BITS = 65534 & ~POLICY_EXEMPT & ~PR_BYPASS  # project administrators: everything but the bypasses


def ace(descriptor: str, allow: int = 0, deny: int = 0, effective: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"descriptor": descriptor, "allow": allow, "deny": deny}
    if effective is not None:
        entry["extendedInfo"] = {"effectiveAllow": effective}
    return entry


def acl(token: str, *aces: dict[str, Any], inherit: bool = True) -> dict[str, Any]:
    return {
        "inheritPermissions": inherit,
        "token": token,
        "acesDictionary": {a["descriptor"]: a for a in aces},
        "includeExtendedInfo": any("extendedInfo" in a for a in aces),
    }


def group(descriptor: str, name: str) -> dict[str, Any]:
    return {
        "id": descriptor[-8:],
        "descriptor": descriptor,
        "providerDisplayName": name,
        "isActive": True,
        "isContainer": True,
        "members": [],
        "memberOf": [],
        "properties": {
            "SchemaClassName": {"$type": "System.String", "$value": "Group"},
            "Account": {"$type": "System.String", "$value": name.split("\\")[-1]},
        },
    }


def user(descriptor: str, display: str) -> dict[str, Any]:
    account = descriptor.rsplit("\\", 1)[-1]
    return {
        "id": account,
        "descriptor": descriptor,
        "providerDisplayName": display,
        "isActive": True,
        "members": [],
        "memberOf": [],
        "properties": {
            "SchemaClassName": {"$type": "System.String", "$value": "User"},
            "Account": {"$type": "System.String", "$value": account},
        },
    }


IDENTITY_LIST = [
    group(ADMINS, "[ml]\\Project Administrators"),
    group(CONTRIBUTORS, "[ml]\\Contributors"),
    group(RELEASERS, "[ml]\\Release Managers"),
    user(ADA, "Ada Lovelace"),
    user(BOB, "Bob"),
    {
        "id": "b1",
        "descriptor": BUILD_SERVICE,
        "providerDisplayName": "ml Build Service (contoso)",
        "isActive": True,
        "properties": {},
    },
]

DEFAULT_PROJECT = acl(
    PROJECT_TOKEN,
    ace(ADMINS, PROJECT_ADMIN_BITS),
    ace(CONTRIBUTORS, READ | CONTRIBUTE | CREATE_BRANCH | 32 | 64 | 16384),
)


def serve(
    replay: ReplayServer,
    *,
    protected: bool = True,
    branches: tuple[str, ...] = (),
    acls: dict[str, list[dict[str, Any]]] | None = None,
    identities: list[dict[str, Any]] | None = None,
) -> None:
    serve_repository(replay)
    serve_policies(
        replay, [policy(1, MIN_REVIEWERS, {"minimumApproverCount": 1}, [exact("refs/heads/main")])] if protected else []
    )
    if branches:
        replay.add("GET", f"/contoso/ml/_apis/git/repositories/{REPO_ID}/refs", 200, refs(*branches))
    serve_acls(replay, {ROOT: [], PROJECT_TOKEN: [DEFAULT_PROJECT], REPO_TOKEN: [], **(acls or {})})
    replay.add("GET", IDENTITIES, 200, collection(IDENTITY_LIST if identities is None else identities))


def main_of(tmp_path: Path, replay: ReplayServer, scope: tuple[str, ...] = ()) -> BranchProtection:
    facts = azure.branch_protection(ctx_for(tmp_path, replay, scope=scope))
    return {b.branch: b for b in facts.branches}["main"]


def test_tokens_follow_the_documented_encoding() -> None:
    assert encode_ref("master") == "6d0061007300740065007200"  # the documented example
    assert encode_ref("main") == "6d00610069006e00"
    assert encode_ref("release/1.0") == "720065006c006500610073006500/31002e003000"  # one hex part per segment
    assert branch_token(PROJECT_ID.upper(), REPO_ID, "main") == MAIN


def test_nobody_may_force_push_a_protected_branch(tmp_path: Path, replay: ReplayServer) -> None:
    """Default project permissions (administrators hold Force push, nobody holds a bypass) and the branch
    creator's own Force push: the policies still refuse every direct push and the deletion."""
    serve(replay, acls={REPO_TOKEN: [acl(MAIN, ace(ADA, CONTRIBUTE | FORCE_PUSH | MANAGE_PERMISSIONS))]})
    ctx = ctx_for(tmp_path, replay)
    (main,) = azure.branch_protection(ctx).branches
    assert main.protected
    assert main.force_push_allowed is False and main.deletion_allowed is False and main.bypass_actors == ()
    asked = [
        (s.query["token"], s.query["recurse"], s.query["includeExtendedInfo"]) for s in replay.requests("GET", ACLS)
    ]
    assert asked == [(ROOT, "false", "true"), (PROJECT_TOKEN, "false", "true"), (REPO_TOKEN, "true", "true")]
    (named,) = replay.requests("GET", IDENTITIES)  # one request names every holder, on the IMS (vssps) host
    assert set(named.query["descriptors"].split(",")) == {ADMINS, ADA} and named.query["queryMembership"] == "None"
    assert not replay.unmatched()
    assert len(business(replay)) == 6  # repository, policies, 3 ACLs, identities
    assert ctx.meter.requests == len(replay.seen)


def test_a_group_may_force_push_an_unprotected_branch(tmp_path: Path, replay: ReplayServer) -> None:
    serve(replay, protected=False, acls={REPO_TOKEN: [acl(REPO_TOKEN, ace(CONTRIBUTORS, FORCE_PUSH))]})
    main = main_of(tmp_path, replay)
    assert not main.protected
    assert main.force_push_allowed is True and main.deletion_allowed is True
    assert any("group [ml]\\Contributors" in n and "force push" in n for n in main.notes)


def test_a_group_holding_force_push_and_bypass_may_rewrite_a_protected_branch(
    tmp_path: Path, replay: ReplayServer
) -> None:
    serve(replay, acls={REPO_TOKEN: [acl(MAIN, ace(RELEASERS, FORCE_PUSH | POLICY_EXEMPT))]})
    main = main_of(tmp_path, replay)
    assert main.force_push_allowed is True
    assert main.deletion_allowed is None  # not documented for a branch with required policies: never guessed
    assert main.bypass_actors == (BypassActor("group", "[ml]\\Release Managers", "always"),)


def test_policy_exempt_and_pull_request_bypass_holders(tmp_path: Path, replay: ReplayServer) -> None:
    serve(
        replay,
        acls={
            REPO_TOKEN: [
                acl(REPO_TOKEN, ace(BOB, PR_BYPASS), ace(BUILD_SERVICE, CONTRIBUTE | POLICY_EXEMPT)),
                acl(MAIN, ace(ADA, CONTRIBUTE | POLICY_EXEMPT | PR_BYPASS)),
            ]
        },
    )
    main = main_of(tmp_path, replay)
    assert main.bypass_actors == (
        BypassActor("app", "ml Build Service (contoso)", "always"),
        BypassActor("user", "ada@contoso.com", "always"),
        BypassActor("user", "bob@contoso.com", "pull_request"),
    )
    # Force push is held only by the administrators (a group), the push bypass by others: membership unread
    assert main.force_push_allowed is None and main.deletion_allowed is None
    assert any("group membership was not read" in n for n in main.notes)


def test_distinct_users_cannot_join_force_push_and_bypass(tmp_path: Path, replay: ReplayServer) -> None:
    project = acl(PROJECT_TOKEN, ace(CONTRIBUTORS, READ | CONTRIBUTE))  # no administrator Force push here
    serve(
        replay, acls={PROJECT_TOKEN: [project], REPO_TOKEN: [acl(MAIN, ace(ADA, FORCE_PUSH), ace(BOB, POLICY_EXEMPT))]}
    )
    main = main_of(tmp_path, replay)
    assert main.force_push_allowed is False and main.deletion_allowed is False
    assert main.bypass_actors == (BypassActor("user", "bob@contoso.com", "always"),)


def test_inherited_permissions_and_broken_inheritance(tmp_path: Path, replay: ReplayServer) -> None:
    """Release Managers may force push and bypass on the whole project; `release/1.0` inherits it, `main`
    stops inheritance, `release/2.0` denies Force push explicitly, and on `hotfix` the service's effective
    allow (extendedInfo) says Contributors got the bypass from above although the ACE sets nothing."""
    project = acl(PROJECT_TOKEN, ace(ADMINS, PROJECT_ADMIN_BITS), ace(RELEASERS, FORCE_PUSH | POLICY_EXEMPT))
    serve(
        replay,
        protected=False,
        branches=("main", "release/1.0", "release/2.0", "hotfix"),
        acls={
            PROJECT_TOKEN: [project],
            REPO_TOKEN: [
                acl(MAIN, ace(ADA, CONTRIBUTE), inherit=False),
                acl(branch_token(PROJECT_ID, REPO_ID, "release/2.0") + "/", ace(RELEASERS, deny=FORCE_PUSH)),
                acl(branch_token(PROJECT_ID, REPO_ID, "hotfix"), ace(CONTRIBUTORS, 0, effective=PR_BYPASS)),
            ],
        },
    )
    facts = azure.branch_protection(ctx_for(tmp_path, replay, scope=("main", "release/*", "hotfix")))
    by = {b.branch: b for b in facts.branches}
    releasers = BypassActor("group", "[ml]\\Release Managers", "always")
    assert by["release/1.0"].force_push_allowed is True and by["release/1.0"].bypass_actors == (releasers,)
    assert by["main"].force_push_allowed is False and by["main"].bypass_actors == ()
    assert by["release/2.0"].bypass_actors == (releasers,)
    assert not any("Release Managers" in n for n in by["release/2.0"].notes if "force push" in n)
    assert BypassActor("group", "[ml]\\Contributors", "pull_request") in (by["hotfix"].bypass_actors or ())
    assert len(replay.requests("GET", ACLS)) == 3  # four branches, still three ACL requests


def test_403_on_the_acls_keeps_them_unknown(tmp_path: Path, replay: ReplayServer) -> None:
    serve(replay)
    serve_acls(replay, {ROOT: []}, status=403)
    main = main_of(tmp_path, replay)
    assert main.protected and main.required_approvals == 1  # the policies are still read
    assert main.force_push_allowed is None and main.deletion_allowed is None and main.bypass_actors is None
    (note,) = [n for n in main.notes if "unknown" in n]
    assert "403" in note and "Security (Manage)" in note and "vso.security_manage" in note
    assert replay.requests("GET", IDENTITIES) == []


def test_identities_unreadable_shows_descriptors(tmp_path: Path, replay: ReplayServer) -> None:
    serve(replay, acls={REPO_TOKEN: [acl(MAIN, ace(RELEASERS, POLICY_EXEMPT))]})
    replay.add("GET", IDENTITIES, 401, {"message": "unauthorized"})
    main = main_of(tmp_path, replay)
    assert main.bypass_actors == (BypassActor("identity", RELEASERS, "always"),)
    assert any("Identity (Read)" in n for n in main.notes)
