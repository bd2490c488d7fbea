"""The files of a simulated fleet repository, as the platforms hand them out: GitHub's tarball (a top folder
`owner-repo-sha/`, a pax global header with the commit), GitLab's archive.tar.gz (`repo-sha-sha/`), Azure DevOps'
items zip (no top folder). Repository i varies with i, so `fleet --files` has passes and failures:

- every repository: a GitHub workflow and a GitLab pipeline that run pytest on pull/merge requests, and a
  Deployment whose image is pinned by digest;
- i % 3 == 0: its Dockerfile's base image is a tag (`python:3.12-slim`), so image.base-pinned fails; otherwise it is
  pinned by digest.
"""

from __future__ import annotations

import io
import tarfile
import zipfile

DIGEST = "sha256:" + "ab" * 32
WORKFLOW = (
    "name: ci\non:\n  pull_request:\n    branches: [main]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n      - run: pytest\n"
)
GITLAB_CI = 'test:\n  script: [pytest]\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n'
DEPLOY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: model}\nspec:\n  template:\n    spec:\n"
    f"      containers: [{{name: model, image: 'registry.example/model@{DIGEST}'}}]\n"
)


def files(i: int) -> dict[str, str]:
    base = "python:3.12-slim" if i % 3 == 0 else f"python:3.12-slim@{DIGEST}"
    return {
        ".github/workflows/ci.yml": WORKFLOW,
        ".gitlab-ci.yml": GITLAB_CI,
        "Dockerfile": f"FROM {base}\nRUN pip install .\n",
        "deploy/model.yaml": DEPLOY,
        "README.md": "# model\n",
    }


def tarball(top: str, commit: str, content: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": commit}) as tar:
        folders = {f"{top}/"} | {f"{top}/{p.rsplit('/', 1)[0]}/" for p in content if "/" in p}
        for folder in sorted(folders):
            info = tarfile.TarInfo(folder.rstrip("/"))
            info.type, info.mode = tarfile.DIRTYPE, 0o775
            tar.addfile(info)
        for path, text in sorted(content.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size, info.mode = len(data), 0o664
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zipball(content: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, text in sorted(content.items()):
            zf.writestr(path, text)
    return buf.getvalue()
