"""Azure pipelines wherever they live, and the local templates they use.

Azure DevOps runs whatever YAML file a pipeline is registered with, so the CI files are not only
`azure-pipelines.yml` and `.azure-pipelines/`: any YAML file of Azure's shape is one
(lang/azure_templates.is_pipeline: `.pipelines/`, Microsoft's MLOps templates' `mlops/devops-pipelines/`),
and so is every file the policy names (ci.pr-pipeline's `azure_pipelines`, passed as `azure:GLOB` items).
Files their `template:` references name are read too (recursively), as GitLab includes are.

A file found by its shape that does not parse is kept to be reported only when its bytes open a line with
an Azure top-level key and it is not a Helm template (which is no YAML until rendered).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping

from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.lang.azure_templates import collect, is_pipeline
from mlops_gate.providers import Context, _exclude
from mlops_gate.providers._helm import helm_template
from mlops_gate.providers._pass import Selector, could_link, selected
from mlops_gate.providers._repo import YAML_EXT, _walked, own_outputs, read, top_mapping
from mlops_gate.providers._scan import Content, scan_budget

AZURE = "azure:"
KIND = "ci_config/azure"  # the pass's name for what ci_config takes by shape (read with ci_config)
_AZURE_KEY = re.compile(rb"(?m)^[\"']?(?:trigger|pr|stages|jobs|steps|extends)[\"']?[ \t]*:")
_GITHUB_KEY = re.compile(rb"(?m)^[\"']?on[\"']?[ \t]*:")  # a GitHub workflow outside .github/workflows runs nowhere


def named(ctx: Context) -> list[str]:
    return sorted(s.removeprefix(AZURE) for s in ctx.scope if s.startswith(AZURE))


def shaped_wanted(rel: str) -> bool:
    """Where an Azure pipeline found by its shape may be (less the CI files by name: files.py)."""
    return rel.endswith(YAML_EXT) and not rel.startswith(".github/")


def shaped_bytes(c: Content) -> bool:
    return c.has(_AZURE_KEY)


def shaped(f: SourceFile) -> bool:
    return is_pipeline(top_mapping(f))


def with_azure(ctx: Context, found: RepoFiles, selectors: Mapping[str, Selector]) -> RepoFiles:
    """`found` (the CI files by name) and the Azure pipelines and templates found elsewhere: those of Azure's
    shape from the run's one pass (`selectors[KIND]`), and the files the policy names, in walk order."""
    globs = named(ctx)
    have = {f.path for f in found.files}

    def glob(rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, g) for g in globs)

    def wanted(rel: str) -> bool:
        return rel not in have and shaped_wanted(rel) and (glob(rel) or not helm_template(ctx, rel))

    def by_name(rel: str) -> bool:
        return glob(rel) and wanted(rel)

    paths, _, _, links = _walked(ctx)
    own = own_outputs(ctx)

    def candidate(test: Callable[[str], bool], rel: str) -> bool:  # a path, or a link to a folder that could hold one
        return test(rel) or (rel in links and could_link(test, rel))

    shape = selected(ctx, KIND, selectors, only=lambda rel: candidate(wanted, rel), meter=False)
    by_shape = {f.path: f for f in shape}
    more = [
        by_shape.get(rel) or read(ctx, rel)
        for rel in paths
        if rel in by_shape or (globs and rel not in own and candidate(by_name, rel))
    ]
    for f in more:  # in walk order, as the files are listed
        ctx.meter.read(f.path)
    kept = [f for f in more if not f.error or not _runs_nowhere(ctx, f.path, candidate(by_name, f.path))]
    files = [*found.files, *kept]
    known = set(paths)
    seen = {f.path for f in files}
    for f in list(files):
        if f.error or f.path.startswith(".github/") or f.path.endswith(".gitlab-ci.yml"):
            continue
        for t in collect(f, lambda rel: read(ctx, rel) if rel in known else None):
            if t.path not in seen:
                seen.add(t.path)
                files.append(t)
                ctx.meter.read(t.path)
    skipped = _exclude.skipped(ctx, wanted)
    return RepoFiles(found.root, tuple(files), tuple(dict.fromkeys(found.skipped + skipped)))


def _runs_nowhere(ctx: Context, rel: str, named: bool) -> bool:
    """A file found by its bytes that does not parse, and is a GitHub workflow outside .github/workflows
    (which GitHub never runs), unless the policy names it (`named`: it, or the folder a link to it holds)."""
    if named:
        return False
    return Content(ctx.root, rel, "yaml", scan_budget(ctx)).has(_GITHUB_KEY)
