"""Where the documentation is: links in reports, `explain` and the schema point at the installed version's.

PROJECT_URL is the project's repository. Neither the README (its CI examples say `OWNER/mlops-gate`), action.yml
nor pyproject.toml names a public home, so it is unknowable from the source: this constant is the one place
that says it, and every link is built from it (change it here when the repository moves).
"""

from __future__ import annotations

import re

from mlops_gate import __version__

PROJECT_URL = "https://github.com/mlops-gate/mlops-gate"


def ref(version: str = __version__) -> str:
    """The git ref of the installed version's documentation: its tag (`v1.2.3`) for a release, `main` for a
    development build (`1.3.0.dev2`, `1.2.3+local`), which has no tag of its own."""
    return f"v{version}" if re.fullmatch(r"\d+(\.\d+)*", version) else "main"


def docs(path: str, anchor: str = "", version: str = __version__) -> str:
    """A file of the repository at the installed version: `docs("docs/checks.md", "vcsno-bypass")`."""
    return f"{PROJECT_URL}/blob/{ref(version)}/{path}" + (f"#{anchor}" if anchor else "")


def check_docs(check_id: str) -> str:
    """A built-in check's section of docs/checks.md (the anchor GitHub derives from its heading)."""
    return docs("docs/checks.md", check_id.replace(".", ""))
