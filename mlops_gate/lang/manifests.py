"""The image references a deploy manifest makes the cluster pull, read as the tools that apply it would:

- Kubernetes-style documents: every `image: <string>` (containers of every kind, CRDs, Argo, Tekton) and
  every image volume (`image: {reference: ...}`, Kubernetes 1.31+); ConfigMaps and Secrets hold data;
- kustomize (`kustomization.yaml`, or `kind: Kustomization`/`Component` of kustomize.config.k8s.io): an
  `images:` entry sets the reference of every matching image: a `digest` pins it, a `newTag` without one
  replaces the tag *and* the digest the resource had; inline patches (strategic merge or JSON 6902, in
  `patches`, `patchesStrategicMerge`, `patchesJson6902`) are read for the images they set, and JSON 6902
  patch files too; a `replacements` target that writes an image cannot be known without rendering;
- Helm values files: `image: "ref"` (with a `tag:`/`digest:` beside it) and `image: {registry, repository,
  tag, digest}` or `{name|repo, version}` anywhere (a `sha256:` tag or version is a digest);
- Helm templates that are not YAML: each literal `image:` value, line by line (`{{ ... }}` values are
  rendered from the values files, judged there);
- docker-compose files: `services.*.image` (a service with `build:` names the image it builds).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mlops_gate import yamlio


@dataclass(frozen=True)
class ImageRef:
    """One image reference a manifest makes the cluster pull, where it is written, and, when it cannot be known, why."""

    ref: str
    path: tuple[object, ...]  # key path in document `doc`
    doc: int
    line: int | None = None  # the line, where no key path is known (a template read as text)
    unknown: str | None = None  # why the reference cannot be known (it fails)
    note: str = ""  # added to the finding


TEMPLATE = "helm-template"  # the format of a Helm template that is not YAML, kept as text
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml")
_KUSTOMIZE_API = "kustomize.config.k8s.io/"
_INLINE = re.compile(r"[\n{\[]|:\s")  # YAML, not a file name
_NEW_TAG = "kustomize's `images:` sets this tag and drops any digest the resource had: set `digest:`"


def refs(name: str, documents: tuple[Any, ...], template: str | None = None) -> Iterator[ImageRef]:
    """The references of one file (`name` lower-cased; `template`: the text of a Helm template that is not
    YAML)."""
    if template is not None:
        yield from template_refs(template)
        return
    for i, doc in enumerate(documents):
        if isinstance(doc, list):
            yield from _patch_ops(doc, i, ())
        if not isinstance(doc, dict):
            continue
        if name.startswith(("docker-compose", "compose.")):
            yield from _compose_refs(doc, i)
        elif is_kustomization(name, doc):
            yield from _kustomization(doc, i)
        elif "apiVersion" in doc and "kind" in doc:
            if doc.get("kind") not in ("ConfigMap", "Secret"):
                yield from image_strings(doc, (), i)
        elif name.startswith("values"):
            yield from _helm_refs(doc, (), i)


def is_kustomization(name: str, doc: object) -> bool:
    if not isinstance(doc, dict):
        return False
    kind_api = str(doc.get("apiVersion", "")).startswith(_KUSTOMIZE_API)
    return name in KUSTOMIZATION_NAMES or (kind_api and doc.get("kind") in ("Kustomization", "Component"))


def is_patch_file(doc: object) -> bool:
    """A JSON 6902 patch file (a list of operations) a kustomization names by `path`."""
    return isinstance(doc, list) and any(isinstance(op, dict) and "op" in op and "path" in op for op in doc)


def _compose_refs(doc: dict[str, Any], i: int) -> Iterator[ImageRef]:
    services = doc.get("services")
    for svc, body in services.items() if isinstance(services, dict) else ():
        if isinstance(body, dict) and isinstance(body.get("image"), str) and "build" not in body:
            yield ImageRef(body["image"], ("services", svc, "image"), i)


def image_strings(node: Any, path: tuple[object, ...], i: int, note: str = "") -> Iterator[ImageRef]:
    """Every `image: <string>` and image volume `image: {reference: <string>}`, templated values excepted."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                if value and "{{" not in value:
                    yield ImageRef(value, (*path, key), i, note=note)
            elif key == "image" and isinstance(value, dict) and isinstance(value.get("reference"), str):
                if value["reference"] and "{{" not in value["reference"]:
                    yield ImageRef(value["reference"], (*path, key, "reference"), i, note=note)
            else:
                yield from image_strings(value, (*path, key), i, note)
    elif isinstance(node, list):
        for n, item in enumerate(node):
            if isinstance(item, (dict, list)):  # leaves hold no `image:`; skipping them keeps big lists cheap
                yield from image_strings(item, (*path, n), i, note)


def _kustomization(doc: dict[str, Any], i: int) -> Iterator[ImageRef]:
    images = doc.get("images")
    for n, entry in enumerate(images if isinstance(images, list) else ()):
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("newName") or entry.get("name") or "")
        digest, tag = entry.get("digest"), entry.get("newTag")
        if digest not in (None, ""):
            yield ImageRef(f"{name}@{digest}", ("images", n, "digest"), i)
        elif tag not in (None, ""):
            yield ImageRef(f"{name}:{tag}", ("images", n, "newTag"), i, note=_NEW_TAG)
    for key in ("patches", "patchesJson6902", "patchesStrategicMerge"):
        listed = doc.get(key)
        for n, entry in enumerate(listed if isinstance(listed, list) else ()):
            where: tuple[object, ...]
            if isinstance(entry, dict):  # {patch: inline} or {path: file} (a file is judged on its own)
                inline, where = entry.get("patch"), (key, n, "patch")
            else:  # a file name, or the patch itself
                inline, where = (entry if isinstance(entry, str) and _INLINE.search(entry) else None), (key, n)
            if isinstance(inline, str):
                yield from _inline_patch(inline, where, i)
    replacements = doc.get("replacements")
    for n, entry in enumerate(replacements if isinstance(replacements, list) else ()):
        targets = entry.get("targets") if isinstance(entry, dict) else None
        paths = (
            [p for t in targets if isinstance(t, dict) for p in t.get("fieldPaths") or ()]
            if isinstance(targets, list)
            else []
        )
        if any("image" in str(p) for p in paths):
            yield ImageRef(
                "a replacement",
                ("replacements", n),
                i,
                unknown="writes an image the gate cannot know without rendering kustomize; set the image "
                "under `images:` with a `digest`",
            )


def _inline_patch(text: str, where: tuple[object, ...], i: int) -> Iterator[ImageRef]:
    note = "set by an inline kustomize patch"
    try:
        loaded = yamlio.load(text)
    except yamlio.YamlSyntaxError as exc:
        if "image" in text:
            yield ImageRef("an inline patch", where, i, unknown=f"cannot be parsed ({exc}), and may set an image")
        return
    for part in loaded.documents:
        if isinstance(part, list):
            yield from _patch_ops(part, i, where)
        else:
            yield from (ImageRef(r.ref, where, i, note=note) for r in image_strings(part, (), i))


def _patch_ops(ops: list[Any], i: int, at: tuple[object, ...]) -> Iterator[ImageRef]:
    """JSON 6902 operations that write an image (`at`: the key path findings point to; () for a patch file,
    whose operations have their own)."""
    for n, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            continue
        segments = op["path"].split("/")
        here = at or (n, "value")
        if op.get("op") in ("copy", "move") and "image" in segments:
            yield ImageRef(op["path"], here, i, unknown="is copied from another field by a JSON patch: cannot be known")
        elif op.get("op") in ("add", "replace"):
            value = op.get("value")
            if segments[-2:] == ["image", "reference"]:
                value = {"image": {"reference": value}}
            elif segments[-1] == "image":
                value = {"image": value}
            for r in image_strings(value, (), i):
                yield ImageRef(r.ref, here, i, note="set by a JSON patch")


# compiled when a Helm template is first read line by line (a run with none does not pay)
@functools.cache
def _image_line() -> re.Pattern[str]:
    return re.compile(r"""(?:^|[\s{,])["']?image["']?\s*:\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,}\]#]*)""")


@functools.cache
def _reference_line() -> re.Pattern[str]:
    return re.compile(r"""^\s*(?:-\s+)?["']?reference["']?\s*:\s*("[^"]*"|'[^']*'|[^\s,}\]#]+)""")


def template_refs(text: str) -> Iterator[ImageRef]:
    """Each literal `image:` value of a Helm template, by line (an image volume's `reference:` on the line
    after an empty `image:`); comment lines are skipped, `{{ ... }}` values are the values files'."""
    after_image = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        ref = _reference_line().match(line) if after_image else None
        after_image = False
        for value in [ref.group(1)] if ref else [m.group(1) for m in _image_line().finditer(line)]:
            value = value.strip("\"'")
            if not value:
                after_image = True
            elif "{{" not in value:
                yield ImageRef(value, (), 0, line=n, note="a literal in a Helm template is rendered as written")


def _helm_refs(node: Any, path: tuple[object, ...], i: int) -> Iterator[ImageRef]:
    if isinstance(node, dict):
        for key, value in node.items():
            is_image = key == "image" or str(key).endswith("Image")
            if is_image and isinstance(value, str):
                if value and "{{" not in value:  # `image: name` with `tag:`/`digest:` beside it, as kserve writes
                    siblings = (
                        {k: v for k, v in node.items() if k in ("tag", "digest", "version")} if key == "image" else {}
                    )
                    yield ImageRef(_helm_ref({"repository": value, **siblings}) or value, (*path, key), i)
            elif is_image and isinstance(value, dict) and _image_map(value):
                ref = _helm_ref(value)
                if ref:
                    yield ImageRef(ref, (*path, key), i)
            elif is_image and isinstance(value, dict):  # `image: {controller: {repository, tag}, ...}`
                for sub, inner in value.items():
                    ref = _helm_ref(inner) if isinstance(inner, dict) and _image_map(inner) else None
                    if ref:
                        yield ImageRef(ref, (*path, key, sub), i)
                    else:
                        yield from _helm_refs(inner, (*path, key, sub), i)
            else:
                yield from _helm_refs(value, (*path, key), i)
    elif isinstance(node, list):
        for n, item in enumerate(node):
            if isinstance(item, (dict, list)):
                yield from _helm_refs(item, (*path, n), i)


def _image_map(value: dict[str, Any]) -> bool:
    return any(k in value for k in ("repository", "name", "repo"))


def _helm_ref(image: dict[str, Any]) -> str | None:
    """`{registry, repository, tag, digest}` as the reference the chart renders; `version` stands for `tag`
    (`version: v1.2`, `version: sha256:...`, `version: v1.2@sha256:...`), and a tag that is a digest is
    rendered after `@`."""
    repo = str(image.get("repository") or image.get("name") or image.get("repo") or "")
    if not repo or "{{" in repo:
        return None
    registry = str(image.get("registry") or "")
    ref = f"{registry}/{repo}" if registry and "{{" not in registry else repo
    tag = image.get("tag") if image.get("tag") not in (None, "") else image.get("version")
    tag = "" if tag is None else str(tag)
    if tag.startswith("sha256:"):
        ref += f"@{tag}"
    elif tag and "{{" not in tag:
        ref += tag if tag.startswith("@") else f":{tag}"
    digest = str(image.get("digest") or "")
    if digest and "@" not in ref and "{{" not in digest:
        ref += digest if digest.startswith("@") else f"@{digest}"
    return ref
