"""The Azure DevOps REST surface the provider uses: each call's location id and api version (as the SDK's
typed method has them), the SDK client class of each area, where the token comes from and the scopes it
needs; and the response hook that counts every request into the meter of the fact being read."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mlops_gate.errors import FactError
from mlops_gate.providers import Meter

Location = tuple[str, str, str]  # (client kind, location id, api version), as the SDK's typed method has them

REPOSITORY: Location = ("git", "225f7195-f9c7-4d14-ab28-a83f7ff77e1f", "7.1-preview.1")
REFS: Location = ("git", "2d874a60-a811-4f62-9c9f-963a6ea0a55b", "7.1-preview.1")
ITEMS: Location = ("git", "fb93c0db-47ed-4a31-8c20-47552878fb44", "7.1-preview.1")
STATUSES: Location = ("git", "428dd4fb-fda5-4722-af02-9313b80305da", "7.1-preview.1")
POLICIES: Location = ("policy", "dad91cbe-d183-45f8-9c6e-9c1164472121", "7.1-preview.1")
BUILDS: Location = ("build", "0cd358e1-9217-4d94-8269-1c1ee6f93dcf", "7.1-preview.7")
DEFINITIONS: Location = ("build", "dbeaf647-6167-421a-bda9-c9327b25e2e6", "7.1-preview.7")
ENVIRONMENTS: Location = ("task_agent", "8572b1fc-2482-47fa-8f74-7e3ed53ee54b", "7.1-preview.1")
CHECKS: Location = ("pipelines_checks", "86c8381e-5aee-4cde-8ae4-25c0c7f5eaea", "7.1-preview.1")
ACLS: Location = ("security", "18a2ad18-7571-46ae-bec7-0c7da1495885", "7.1-preview.1")  # organisation-level
IDENTITIES: Location = ("identity", "28010c54-d0c0-4c89-a5b0-1c9e188b9fb7", "7.1-preview.1")  # IMS: vssps host

CLIENTS = {  # kind -> SDK class (imported lazily: a run that does not read Azure never pays for the SDK)
    "git": "azure.devops.v7_1.git.git_client.GitClient",
    "policy": "azure.devops.v7_1.policy.policy_client.PolicyClient",
    "build": "azure.devops.v7_1.build.build_client.BuildClient",
    "task_agent": "azure.devops.v7_1.task_agent.task_agent_client.TaskAgentClient",
    "pipelines_checks": "azure.devops.v7_1.pipelines_checks.pipelines_checks_client.PipelinesChecksClient",
    "security": "azure.devops.v7_1.security.security_client.SecurityClient",
    "identity": "azure.devops.v7_1.identity.identity_client.IdentityClient",
}

TOKEN_VARS = ("AZURE_DEVOPS_TOKEN", "SYSTEM_ACCESSTOKEN")
SCOPES = (
    "set AZURE_DEVOPS_TOKEN (else SYSTEM_ACCESSTOKEN) to a PAT with Code (Read) for repositories, refs, "
    "branch policies and commit statuses, Build (Read) for builds and checks, Environment (Read & manage) "
    "for environments; Security (Manage) and Identity (Read) to read branch permissions"
)

METER: ContextVar[Meter | None] = ContextVar("mlops_gate_azure_meter", default=None)
LAST = threading.local()  # status and URL of the last response this thread received


def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
    meter = METER.get()
    if meter is not None:
        meter.requests += 1 + len(getattr(getattr(response.raw, "retries", None), "history", ()) or ())
    LAST.status, LAST.url = response.status_code, clean(response.url)
    if response.status_code == 203:  # Azure DevOps answers a rejected PAT with a sign-in page, not 401
        raise FactError(
            f"Azure DevOps rejected the token: {LAST.url} answered 203 with a sign-in page",
            f"the token is invalid or expired; {SCOPES}",
        )
    return response


def clean(url: str) -> str:
    """The URL without credentials or query (continuation tokens are noise in evidence)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def metered(meter: Meter) -> contextlib.AbstractContextManager[Any]:
    """Count the requests made inside the block into `meter` (the hook reads it from the context)."""

    @contextlib.contextmanager
    def scope() -> Iterator[None]:
        token = METER.set(meter)
        try:
            yield
        finally:
            METER.reset(token)

    return scope()
