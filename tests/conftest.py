"""Shared fixtures: the replay server for the platform SDKs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from tests.support.replay import ReplayServer

# The azure-devops SDK caches API locations under ~/.azure-devops at import: keep tests hermetic.
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="mlops-gate-azure-cache-"))
# The gate remembers promtool/amtool versions under ~/.cache/mlops-gate: one folder of the session's own instead.
os.environ.setdefault("MLOPS_GATE_TOOL_CACHE", tempfile.mkdtemp(prefix="mlops-gate-cache-"))


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer().start()
    try:
        yield server
    finally:
        server.stop()
