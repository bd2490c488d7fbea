"""Azure DevOps on the replay server: resource-area and location discovery as the SDK asks for it, the
repository, ACLs and branch policies in the documented REST shapes, and a provider context for them."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

# The SDK picks its on-disk location cache at import time: keep it out of $HOME and away from other runs.
_CACHE = tempfile.mkdtemp(prefix="mlops-gate-azure-devops-")
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", _CACHE)
atexit.register(shutil.rmtree, _CACHE, True)

from mlops_gate.providers import Context  # noqa: E402
from mlops_gate.target import Target  # noqa: E402
from tests.support.replay import ReplayServer  # noqa: E402

TOKEN = "t0ken-for-tests"
SHA = "3f4e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f"
OTHER_SHA = "0000000000000000000000000000000000000001"
REPO_ID = "5febef5a-833d-4e14-b9c0-14cb638f91e6"
OTHER_REPO_ID = "9a1e4cf0-0000-4d00-8000-000000000000"
PROJECT = "/contoso/ml/_apis"

MIN_REVIEWERS = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"
REQUIRED_REVIEWERS = "fd2167ab-b0be-447a-8ec8-39368250530e"
BUILD = "0609b952-1397-4640-95ec-e00a01b2c241"
STATUS = "cbdc66da-9728-4af8-aada-9a5a32e4a226"
COMMENTS = "c6a1889d-b943-4856-b76f-9e46bb6b0df2"

# (location id, area, resource, route template): what `OPTIONS {collection}/_apis` lists on Azure DevOps
LOCATIONS = [
    ("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas", "_apis/{resource}/{areaId}"),
    ("225f7195-f9c7-4d14-ab28-a83f7ff77e1f", "git", "repositories", "{project}/_apis/{area}/{resource}/{repositoryId}"),
    (
        "2d874a60-a811-4f62-9c9f-963a6ea0a55b",
        "git",
        "refs",
        "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}",
    ),
    (
        "fb93c0db-47ed-4a31-8c20-47552878fb44",
        "git",
        "items",
        "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*path}",
    ),
    (
        "428dd4fb-fda5-4722-af02-9313b80305da",
        "git",
        "statuses",
        "{project}/_apis/{area}/repositories/{repositoryId}/commits/{commitId}/{resource}",
    ),
    (
        "dad91cbe-d183-45f8-9c6e-9c1164472121",
        "policy",
        "configurations",
        "{project}/_apis/{area}/{resource}/{configurationId}",
    ),
    ("0cd358e1-9217-4d94-8269-1c1ee6f93dcf", "build", "builds", "{project}/_apis/{area}/{resource}/{buildId}"),
    (
        "dbeaf647-6167-421a-bda9-c9327b25e2e6",
        "build",
        "definitions",
        "{project}/_apis/{area}/{resource}/{definitionId}",
    ),
    (
        "8572b1fc-2482-47fa-8f74-7e3ed53ee54b",
        "distributedtask",
        "environments",
        "{project}/_apis/{area}/{resource}/{environmentId}",
    ),
    (
        "86c8381e-5aee-4cde-8ae4-25c0c7f5eaea",
        "PipelinesChecks",
        "configurations",
        "{project}/_apis/pipelines/checks/{resource}/{id}",
    ),
    (
        "18a2ad18-7571-46ae-bec7-0c7da1495885",
        "Security",
        "accessControlLists",
        "_apis/{resource}/{securityNamespaceId}",
    ),
    ("28010c54-d0c0-4c89-a5b0-1c9e188b9fb7", "IMS", "Identities", "_apis/{resource}/{identityId}"),
]
AREAS = {
    "git": "4e080c62-fa21-4fbc-8fef-2a10a2b38049",
    "build": "965220d5-5bb9-42cf-8d67-9b146df2a5a4",
    "policy": "fb13a388-40dd-4a04-b530-013a739c72ef",
    "distributedtask": "a85b8835-c1a1-4aac-ae97-1c3d0ba72dbd",
    "pipelineschecks": "4a933897-0488-45af-bd82-6fd3ad33f46a",
    "ims": "8a3d49b8-91f0-46ef-b33d-dda338c25db3",
}
VSSPS = "/vssps"  # the IMS area lives on another host (vssps.dev.azure.com): a distinct path here
DISCOVERY = {
    ("OPTIONS", "/contoso/_apis"),
    ("GET", "/contoso/_apis/ResourceAreas"),
    ("OPTIONS", "/vssps/contoso/_apis"),
}
GIT_NAMESPACE = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"
ACLS = f"/contoso/_apis/accessControlLists/{GIT_NAMESPACE}"
IDENTITIES = f"{VSSPS}/contoso/_apis/Identities"


@pytest.fixture(autouse=True)
def replay_answers_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/support/replay.py serves GET/POST/PUT/PATCH/DELETE; the SDK discovers API locations with
    `OPTIONS {collection}/_apis`. Route OPTIONS like the others (a no-op once replay.py does it itself)."""
    monkeypatch.setattr(BaseHTTPRequestHandler, "do_OPTIONS", lambda self: self._serve(), raising=False)


def collection(body: list[Any]) -> dict[str, Any]:
    return {"count": len(body), "value": body}


def serve_discovery(replay: ReplayServer, org: str = "contoso") -> None:
    """Resource areas and API locations, as the SDK asks for them before its first real call."""
    locations = [
        {
            "id": i,
            "area": a,
            "resourceName": r,
            "routeTemplate": t,
            "resourceVersion": 1,
            "minVersion": 1.0,
            "maxVersion": 7.1,
            "releasedVersion": "7.0",
        }
        for i, a, r, t in LOCATIONS
    ]
    replay.add("OPTIONS", f"/{org}/_apis", 200, collection(locations))
    replay.add("OPTIONS", f"{VSSPS}/{org}/_apis", 200, collection(locations))
    areas = [
        {"id": i, "name": n, "locationUrl": f"{replay.url}{VSSPS if n == 'ims' else ''}/{org}/"}
        for n, i in AREAS.items()
    ]
    replay.add("GET", f"/{org}/_apis/ResourceAreas", 200, collection(areas))


def serve_repository(replay: ReplayServer, default_branch: str | None = "refs/heads/main") -> None:
    serve_discovery(replay)
    repo: dict[str, Any] = {
        "id": REPO_ID,
        "name": "churn",
        "url": f"https://dev.azure.com/contoso/ml/_apis/git/repositories/{REPO_ID}",
        "project": {"id": "eb6e4656-77fc-42a1-9181-4c6d8e9da5d1", "name": "ml"},
        "remoteUrl": "https://contoso@dev.azure.com/contoso/ml/_git/churn",
        "size": 1024,
    }
    if default_branch:
        repo["defaultBranch"] = default_branch
    replay.add("GET", f"{PROJECT}/git/repositories/churn", 200, repo)
    replay.add("GET", ACLS, 200, collection([]))  # no ACL anywhere unless a test serves some


def serve_acls(replay: ReplayServer, acls: dict[str, list[dict[str, Any]]], *, status: int = 200) -> None:
    """`GET _apis/accesscontrollists/{namespace}?token=...`: the ACLs answered for each token asked."""
    for token, body in acls.items():
        replay.add(
            "GET", ACLS, status, collection(body) if status == 200 else {"message": "denied"}, query={"token": token}
        )


def ctx_for(
    tmp_path: Path,
    replay: ReplayServer,
    scope: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    api_url: str | None = None,
) -> Context:
    target = Target(
        platform="azure", repository="contoso/ml/churn", commit=SHA, api_url=api_url or f"{replay.url}/contoso/"
    )
    return Context(
        root=tmp_path, target=target, env={"AZURE_DEVOPS_TOKEN": TOKEN} if env is None else env, scope=frozenset(scope)
    )


def policy(
    pid: int,
    type_id: str,
    settings: dict[str, Any],
    scope: list[dict[str, Any]],
    *,
    enabled: bool = True,
    blocking: bool = True,
    name: str = "",
) -> dict[str, Any]:
    return {
        "id": pid,
        "revision": 1,
        "isEnabled": enabled,
        "isBlocking": blocking,
        "isDeleted": False,
        "createdDate": "2024-05-02T10:00:00Z",
        "settings": {**settings, "scope": scope},
        "type": {
            "id": type_id,
            "displayName": name or type_id[:8],
            "url": f"https://dev.azure.com/contoso/ml/_apis/policy/types/{type_id}",
        },
        "url": f"https://dev.azure.com/contoso/ml/_apis/policy/configurations/{pid}",
    }


def exact(ref: str, repo: str | None = REPO_ID) -> dict[str, Any]:
    return {"refName": ref, "matchKind": "Exact", "repositoryId": repo}


def prefix(ref: str, repo: str | None = REPO_ID) -> dict[str, Any]:
    return {"refName": ref, "matchKind": "Prefix", "repositoryId": repo}


def serve_policies(replay: ReplayServer, policies: list[dict[str, Any]]) -> None:
    replay.add("GET", f"{PROJECT}/policy/configurations", 200, collection(policies))


def refs(*names: str) -> dict[str, Any]:
    return collection(
        [
            {
                "name": f"refs/heads/{n}",
                "objectId": SHA,
                "creator": {"displayName": "Ada"},
                "url": f"https://dev.azure.com/contoso/ml/_apis/git/repositories/{REPO_ID}/refs?filter=heads%2F{n}",
            }
            for n in names
        ]
    )


def business(replay: ReplayServer) -> list[Any]:
    return [s for s in replay.seen if (s.method, s.path) not in DISCOVERY]
