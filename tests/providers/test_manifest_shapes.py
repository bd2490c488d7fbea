"""Deploy manifests image.digest-pinned used to pass without judging (review of issue 10, findings 5 and 14):
kustomize `images:` and patches, Helm templates, UTF-16 JSON, Git LFS pointers, image volumes, folders nested
too deep. Each shape is judged, or reported as a file the gate cannot judge; each has a twin that passes or is
left alone, so the rule is not "fail everything"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_gate.checks.image import PinParams, digest_pinned
from mlops_gate.cli import main
from mlops_gate.model import Outcome
from mlops_gate.providers import _repo
from mlops_gate.target import Target
from tests.support.trees import read_facts, write_tree

D = "sha256:" + "a" * 64
POD = 'apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: a, image: "{}"}}]\n'


def judge(root: Path, files: dict[str, str]) -> dict[str, Outcome]:
    facts = read_facts(write_tree(root, files), "deploy_manifests", "oci_image")
    return {o.subject: o for o in digest_pinned(facts, PinParams(), Target())}


def messages(o: Outcome) -> list[str]:
    return [v.message for v in o.violations]


def kustomization(body: str) -> str:
    return f"resources: [pod.yaml]\n{body}"  # no apiVersion/kind: kustomize reads it by its name


@pytest.mark.parametrize(
    ("images", "verdict"),
    [
        ("- name: registry.example.com/app\n  newTag: latest\n", "registry.example.com/app:latest is not pinned"),
        ("- name: registry.example.com/app\n  newName: other/app\n  newTag: '1.0'\n", "other/app:1.0 is not pinned"),
        (f"- name: registry.example.com/app\n  digest: {D}\n", None),
        (f"- name: registry.example.com/app\n  newTag: '1.0'\n  digest: {D}\n", None),
    ],
)
def test_kustomize_images_set_the_reference_deployed(tmp_path: Path, images: str, verdict: str | None) -> None:
    got = judge(
        tmp_path,
        {
            "pod.yaml": POD.format(f"registry.example.com/app@{D}"),
            "kustomization.yaml": kustomization(f"images:\n{images}"),
        },
    )
    assert not got["file:pod.yaml"].violations
    o = got["file:kustomization.yaml"]
    if verdict is None:
        assert not o.violations and o.message == "all 1 image references pinned by digest"
    else:
        (message,) = messages(o)
        assert verdict in message and "drops any digest the resource had" in message
        assert o.violations[0].location and o.violations[0].location.line == 2 + images.count(
            "\n"
        )  # resources:, images:, the entry


JSON6902 = "- op: replace\n  path: /spec/containers/0/image\n  value: {}\n"
STRATEGIC = "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: {}\n"


@pytest.mark.parametrize("shape", ["patches", "patchesJson6902", "patchesStrategicMerge"])
@pytest.mark.parametrize(("image", "pinned"), [("nginx:latest", False), (f"nginx@{D}", True)])
def test_inline_kustomize_patches_are_read_for_the_images_they_set(
    tmp_path: Path, shape: str, image: str, pinned: bool
) -> None:
    patch = (STRATEGIC if shape == "patchesStrategicMerge" else JSON6902).format(image)
    entry = {"target": {"kind": "Pod", "name": "p"}, "patch": patch} if shape != "patchesStrategicMerge" else patch
    body = kustomization("") + json.dumps({shape: [entry]})[1:-1].replace('": [', '":\n  [', 1) + "\n"
    o = judge(tmp_path, {"pod.yaml": POD.format(f"app@{D}"), "kustomization.yaml": body})["file:kustomization.yaml"]
    if pinned:
        assert not o.violations and o.evidence, o
    else:
        assert messages(o) == [
            "image nginx:latest is not pinned by digest; deploy name@sha256:<digest> ("
            + ("set by an inline kustomize patch" if shape == "patchesStrategicMerge" else "set by a JSON patch")
            + ")"
        ]


def test_a_json_patch_file_a_kustomization_names_is_judged(tmp_path: Path) -> None:
    got = judge(
        tmp_path,
        {
            "kustomization.yaml": kustomization("patches:\n- path: set-image.yaml\n  target: {kind: Pod}\n"),
            "set-image.yaml": JSON6902.format("nginx:latest"),
            "pinned.yaml": JSON6902.format(f"nginx@{D}"),
            "pod.yaml": POD.format(f"app@{D}"),
        },
    )
    assert messages(got["file:set-image.yaml"])[0].startswith("image nginx:latest is not pinned")
    assert not got["file:pinned.yaml"].violations


def test_patches_and_replacements_the_gate_cannot_read_fail(tmp_path: Path) -> None:
    o = judge(
        tmp_path,
        {
            "pod.yaml": POD.format(f"app@{D}"),
            "kustomization.yaml": kustomization(
                "patches:\n- patch: |-\n    - op: replace\n      path: /spec/containers/0/image\n      value: [\n"
                "replacements:\n- source: {kind: ConfigMap, name: c, fieldPath: data.image}\n"
                "  targets:\n  - select: {kind: Pod}\n    fieldPaths: [spec.containers.0.image]\n"
                "- source: {kind: ConfigMap, name: c, fieldPath: data.replicas}\n"
                "  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [spec.replicas]\n"
            ),
        },
    )["file:kustomization.yaml"]
    got = messages(o)
    assert len(got) == 2, got
    assert got[0].startswith("image an inline patch cannot be judged: it cannot be parsed")
    assert got[1].startswith("image a replacement cannot be judged: it writes an image")


def test_a_helm_template_s_literal_image_is_judged_at_its_line(tmp_path: Path) -> None:
    chart = {"chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n", "chart/values.yaml": "replicas: 1\n"}
    template = (
        "{{- if .Values.enabled }}\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
        "  - name: a\n    image: python:latest  # rendered as written\n"
        '  - name: b\n    image: "{{ .Values.image }}"\n'
        f"  - name: c\n    image: 'python@{D}'\n"
        "  # image: commented:out\n"
        "  volumes:\n  - name: tools\n    image:\n      reference: busybox:latest\n{{- end }}\n"
    )
    o = judge(tmp_path, {**chart, "chart/templates/pod.yaml": template})["file:chart/templates/pod.yaml"]
    assert [(v.location.line if v.location else None, v.message.split(" is ")[0]) for v in o.violations] == [
        (7, "image python:latest"),
        (16, "image busybox:latest"),
    ]
    assert o.evidence == (f"chart/templates/pod.yaml:11 python@{D}",)


def test_a_helm_template_that_is_yaml_or_only_templated_images(tmp_path: Path) -> None:
    """The twin: plain YAML under templates/ is judged as any manifest; templated values are the values'."""
    got = judge(
        tmp_path,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: app\n",
            "chart/templates/plain.yaml": POD.format("nginx:latest"),
            "chart/templates/templated.yaml": "{{- if .Values.on }}\n"
            + POD.format("{{ .Values.image.repository }}@{{ .Values.image.digest }}")
            + "{{- end }}\n",
        },
    )
    assert messages(got["file:chart/templates/plain.yaml"])[0].startswith("image nginx:latest is not pinned")
    assert "file:chart/templates/templated.yaml" not in got


def utf16(doc: dict[str, object]) -> bytes:
    return "\ufeff".encode("utf-16-le") + json.dumps(doc).encode("utf-16-le")


def test_utf16_json_and_lfs_pointers_are_reported_not_skipped(tmp_path: Path) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": "nginx:latest"}]}}
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy/pod.json").write_bytes(utf16(pod))
    pointer = f"version https://git-lfs.github.com/spec/v1\noid {D}\nsize 212\n"
    got = judge(tmp_path, {"deploy/lfs.yaml": pointer, "deploy/lfs.json": pointer})
    assert messages(got["file:deploy/pod.json"])[0].startswith("not read: not UTF-8 text (byte 0xff at offset 0)")
    for name in ("lfs.yaml", "lfs.json"):
        (message,) = messages(got[f"file:deploy/{name}"])
        assert message.startswith("not read: a Git LFS pointer") and "lfs: true" in message


def test_json_that_cannot_be_a_manifest_is_still_left_alone(tmp_path: Path) -> None:
    """The twin: UTF-8 JSON data without apiVersion/kind is not a candidate (not read, not reported)."""
    got = judge(tmp_path, {"data/tokenizer.json": json.dumps({"vocab": {"image": 1}}), "pod.yaml": POD.format("x")})
    assert list(got) == ["file:pod.yaml"]


@pytest.mark.parametrize(("reference", "pinned"), [("busybox:latest", False), (f"busybox@{D}", True)])
def test_image_volumes_are_images_the_pod_pulls(tmp_path: Path, reference: str, pinned: bool) -> None:
    manifest = (
        f"apiVersion: v1\nkind: Pod\nspec:\n  containers: [{{name: a, image: 'app@{D}'}}]\n"
        f"  volumes:\n  - name: tools\n    image: {{reference: '{reference}', pullPolicy: Always}}\n"
    )
    o = judge(tmp_path, {"pod.yaml": manifest})["file:pod.yaml"]
    assert o.message == (
        "all 2 image references pinned by digest" if pinned else "1 of 2 image references pinned by digest"
    )
    if not pinned:
        assert messages(o) == ["image busybox:latest is not pinned by digest; deploy name@sha256:<digest>"]
        assert o.violations[0].location and o.violations[0].location.line == 7


def nest(root: Path, depth: int) -> Path:
    here = root
    for _ in range(depth):
        here = here / "a"
    here.mkdir(parents=True)
    (here / "pod.yaml").write_text(POD.format("nginx:latest"))
    return root


def test_folders_nested_too_deep_are_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    nest(tmp_path, 3 * _repo.MAX_DEPTH)
    code = main(["check", "--repo", str(tmp_path), "--only", "image.digest-pinned", "--format", "json"], env={})
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "RecursionError" not in out + err
    (r,) = json.loads(out)["results"]
    assert (code, r["status"]) == (3, "error")
    assert f"nests folders more than {_repo.MAX_DEPTH} deep" in r["message"] and "point --repo" in r["message"]


def test_folders_nested_within_the_bound_are_judged(tmp_path: Path) -> None:
    got = judge(nest(tmp_path, _repo.MAX_DEPTH - 1), {})
    ((subject, o),) = got.items()
    assert subject.endswith("/a/pod.yaml") and subject.count("/") == _repo.MAX_DEPTH - 1
    assert messages(o)[0].startswith("image nginx:latest is not pinned")


def test_committed_files_in_folders_named_like_tooling_are_judged(tmp_path: Path) -> None:
    """`kubectl apply -R -f deploy/` applies deploy/venv/pod.yaml; the job's own untracked .venv is not read."""
    import subprocess

    write_tree(
        tmp_path,
        {
            "deploy/venv/pod.yaml": POD.format("nginx:latest"),
            "deploy/node_modules/pod.yaml": POD.format("nginx:latest"),
        },
    )
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    write_tree(tmp_path, {".venv/lib/pod.yaml": POD.format("nginx:latest")})  # created by the job, not committed
    got = judge(tmp_path, {})
    assert sorted(got) == ["file:deploy/node_modules/pod.yaml", "file:deploy/venv/pod.yaml"]
    assert all(messages(o)[0].startswith("image nginx:latest is not pinned") for o in got.values())
