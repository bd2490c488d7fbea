"""image.base-pinned and the static half of image.digest-pinned, over small fixture trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_gate.checks.image import PinParams, base_pinned, digest_pinned
from mlops_gate.model import Location, Outcome
from mlops_gate.target import Target
from tests.support.trees import read_facts, write_tree

D = "sha256:" + "a" * 64
D2 = "sha256:" + "0123456789abcdef" * 4


def base(tmp_path: Path, files: dict[str, str], **params: object) -> list[Outcome]:
    facts = read_facts(write_tree(tmp_path, files), "dockerfiles")
    return list(base_pinned(facts, PinParams(**params), Target()))  # type: ignore[arg-type]


def one(outcomes: list[Outcome]) -> Outcome:
    assert len(outcomes) == 1, outcomes
    return outcomes[0]


def where(o: Outcome) -> list[tuple[str, int | None]]:
    return [(v.location.path, v.location.line) for v in o.violations if v.location]


# --- image.base-pinned -------------------------------------------------------------------------------


def test_pinned_dockerfile_passes(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"FROM python:3.12-slim@{D}\nRUN pip install x\n"}))
    assert not o.violations and o.error is None
    assert o.subject == "file:Dockerfile"
    assert o.message == "all 1 images pinned by digest"
    assert o.evidence == (f"Dockerfile:1 FROM python:3.12-slim@{D}",)


def test_tag_only_fails_at_its_line(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"docker/Dockerfile.train": f"# b\nFROM python:3.12@{D}\nFROM ubuntu:22.04\n"}))
    assert o.message == "1 of 2 images pinned by digest"
    assert where(o) == [("docker/Dockerfile.train", 3)]
    assert o.violations[0].message.startswith("FROM ubuntu:22.04 is not pinned by digest")


def test_short_or_malformed_digest_is_not_a_pin(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": "FROM python@sha256:abc\n"}))
    assert where(o) == [("Dockerfile", 1)]


def test_multi_stage_and_scratch(tmp_path: Path) -> None:
    o = one(
        base(
            tmp_path,
            {
                "Containerfile": f"""
        FROM golang:1.22@{D} AS Builder
        RUN go build -o /app .
        FROM builder AS test
        FROM scratch
        COPY --from=builder /app /app
        COPY --from=0 /app /app2
        """
            },
        )
    )
    assert not o.violations, o.violations
    assert o.message == "all 1 images pinned by digest"


def test_stage_name_is_not_a_reference_before_it_is_declared(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"FROM builder\nFROM alpine@{D} AS builder\n"}))
    assert where(o) == [("Dockerfile", 1)]


def test_copy_from_external_image(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"FROM alpine@{D}\nCOPY --from=nginx:1.25 /etc/nginx /etc/\n"}))
    assert where(o) == [("Dockerfile", 2)]
    assert o.violations[0].message.startswith("COPY --from nginx:1.25 is not pinned")


@pytest.mark.parametrize("line", ["FROM ${BASE}", "FROM $BASE", "FROM ${BASE:-ubuntu:22.04}"])
def test_arg_substitution_pinned(tmp_path: Path, line: str) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"ARG BASE=python:3.12@{D}\n{line} AS app\n"}))
    assert not o.violations, o.violations
    assert o.evidence == (f"Dockerfile:2 FROM python:3.12@{D}",)


def test_arg_substitution_unpinned_shows_both_forms(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": 'ARG VERSION="3.12"\nARG BASE=python:${VERSION}\nFROM ${BASE}\n'}))
    assert where(o) == [("Dockerfile", 3)]
    assert o.violations[0].message.startswith("FROM ${BASE} (= python:3.12) is not pinned by digest")


def test_default_of_unset_arg(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"ARG BASE\nFROM ${{BASE:-python@{D}}}\n"}))
    assert not o.violations


def test_arg_without_default_is_unresolvable(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": "ARG BASE\nFROM ${BASE}\nFROM $OTHER\n"}))
    assert where(o) == [("Dockerfile", 2), ("Dockerfile", 3)]
    assert o.violations[0].message == "FROM ${BASE}: cannot resolve (build arg BASE has no default value)"
    assert "build arg OTHER is not declared before the first FROM" in o.violations[1].message


def test_arg_inside_a_stage_does_not_reach_from(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"FROM alpine@{D}\nARG BASE=python@{D}\nFROM ${{BASE}}\n"}))
    assert where(o) == [("Dockerfile", 3)]


def test_platform_flag_continuation_comments_and_directives(tmp_path: Path) -> None:
    o = one(
        base(
            tmp_path,
            {
                "Dockerfile": f"""
        # syntax=docker/dockerfile:1@{D}
        # escape=`
        ARG TARGET=python:3.12@{D}

        # a comment FROM ubuntu:latest
        FROM --platform=$BUILDPLATFORM `
          # comment inside the continuation
          ${{TARGET}} `
          AS build
        RUN echo hi `
            && echo \\
        FROM --platform=linux/amd64 ubuntu:22.04
        """
            },
        )
    )
    assert where(o) == [("Dockerfile", 12)]
    assert o.evidence == (f"Dockerfile:1 # syntax docker/dockerfile:1@{D}", f"Dockerfile:6 FROM python:3.12@{D}")


def test_heredoc_body_is_not_an_instruction(tmp_path: Path) -> None:
    o = one(
        base(
            tmp_path,
            {
                "Dockerfile": f"""
        FROM alpine@{D}
        RUN <<EOF
        cat > other.Dockerfile
        FROM ubuntu:latest
        EOF
        FROM debian:12
        """
            },
        )
    )
    assert where(o) == [("Dockerfile", 6)]


def test_allow_globs(tmp_path: Path) -> None:
    o = one(
        base(tmp_path, {"Dockerfile": "FROM registry.internal/base/python:3.12\n"}, allow=("registry.internal/base/*",))
    )
    assert not o.violations


def test_no_from_instruction(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": "RUN echo\n"}))
    assert o.message == "no FROM instruction"
    assert where(o) == [("Dockerfile", 1)]


def test_one_outcome_per_dockerfile(tmp_path: Path) -> None:
    out = base(tmp_path, {"a/Dockerfile": f"FROM x@{D}\n", "b/app.dockerfile": "FROM y\n"})
    assert [(o.subject, bool(o.violations)) for o in out] == [
        ("file:a/Dockerfile", False),
        ("file:b/app.dockerfile", True),
    ]


def test_no_dockerfile_passes_with_explicit_message(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"README.md": "hi\n"}))
    assert not o.violations and o.error is None
    assert o.message == "no Dockerfile found; no base image to pin"
    assert o.subject.startswith("repo:")


# --- image.digest-pinned (static half) ----------------------------------------------------------------


def pins(tmp_path: Path, files: dict[str, str], **params: object) -> list[Outcome]:
    facts = read_facts(write_tree(tmp_path, files), "deploy_manifests", "oci_image")
    return list(digest_pinned(facts, PinParams(**params), Target()))  # type: ignore[arg-type]


def test_deployment_all_container_kinds(tmp_path: Path) -> None:
    o = one(
        pins(
            tmp_path,
            {
                "k8s/deploy.yaml": f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: churn}}
        spec:
          template:
            spec:
              initContainers:
                - name: init
                  image: busybox:1.36
              containers:
                - name: app
                  image: ghcr.io/acme/churn@{D}
                - name: sidecar
                  image: envoyproxy/envoy:v1.30
              ephemeralContainers:
                - name: debug
                  image: busybox@{D2}
        """
            },
        )
    )
    assert o.subject == "file:k8s/deploy.yaml"
    assert o.message == "2 of 4 image references pinned by digest"
    assert where(o) == [("k8s/deploy.yaml", 9), ("k8s/deploy.yaml", 14)]
    assert o.violations[0].message == ("image busybox:1.36 is not pinned by digest; deploy name@sha256:<digest>")


def test_multi_document_cronjob_and_pod(tmp_path: Path) -> None:
    o = one(
        pins(
            tmp_path,
            {
                "jobs.yaml": f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: p}}
        spec:
          containers: [{{name: a, image: "x@{D}"}}]
        ---
        apiVersion: batch/v1
        kind: CronJob
        metadata: {{name: retrain}}
        spec:
          schedule: "0 3 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  containers:
                    - name: train
                      image: acme/train:latest
        """
            },
        )
    )
    assert where(o) == [("jobs.yaml", 18)]


def test_kserve_inference_service(tmp_path: Path) -> None:
    o = one(
        pins(
            tmp_path,
            {
                "serving/isvc.yaml": f"""
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {{name: churn}}
        spec:
          predictor:
            sklearn:
              storageUri: gs://models/churn
              image: kserve/sklearnserver:v0.13
          transformer:
            containers:
              - name: feast
                image: acme/transformer@{D}
          explainer:
            art:
              image: kserve/art-explainer
        """
            },
        )
    )
    assert o.message == "1 of 3 image references pinned by digest"
    assert where(o) == [("serving/isvc.yaml", 8), ("serving/isvc.yaml", 15)]
    assert all("gs://" not in v.message for v in o.violations)


def test_configmap_and_templated_images_are_skipped(tmp_path: Path) -> None:
    out = pins(
        tmp_path,
        {
            "cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c}
        data: {image: "busybox:latest"}
        """,
            "pod.yaml": """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers: [{name: a, image: "{{ .Values.image }}"}]
        """,
        },
    )
    o = one(out)
    assert not o.violations and o.message == "no image reference found in 2 deploy manifests"


def test_helm_values_shapes(tmp_path: Path) -> None:
    o = one(
        pins(
            tmp_path,
            {
                "chart/values.yaml": f"""
        image:
          repository: ghcr.io/acme/churn
          tag: "1.4.0"
          digest: "{D}"
        worker:
          image:
            registry: docker.io
            repository: bitnami/redis
            tag: 7.2
        proxyImage: "envoyproxy/envoy@{D}"
        sidecars:
          - image: {{repository: acme/logs, tag: "1.0@{D2}"}}
          - image: "fluent/fluent-bit:3.0"
        exporter:
          image: {{repository: "", tag: ""}}
        """
            },
        )
    )
    assert o.message == "3 of 5 image references pinned by digest"
    assert where(o) == [("chart/values.yaml", 6), ("chart/values.yaml", 13)]
    assert o.violations[0].message.startswith("image docker.io/bitnami/redis:7.2 is not pinned")
    assert f"chart/values.yaml:image ghcr.io/acme/churn:1.4.0@{D}" in o.evidence


def test_helm_values_version_and_sibling_tag_shapes(tmp_path: Path) -> None:
    """Shapes from public charts: `version: sha256:...`, `version: v1.2@sha256:...`, `image:` with `tag:`
    beside it (kserve's values), a `sha256:` tag, and image maps nested under `image:`."""
    o = one(
        pins(
            tmp_path,
            {
                "chart/values.yaml": f"""
        exporter:
          image: {{repository: quay.io/acme/exporter, version: "{D}"}}
        reloader:
          image: {{name: acme/reloader, version: "v1.2@{D2}"}}
        kserve:
          agent:
            image: kserve/agent
            tag: ''
          router:
            image: kserve/router
            digest: "{D}"
          storage:
            image: kserve/storage-initializer
            tag: "{D2}"
        image:
          controller: {{repository: acme/controller, tag: "0.9"}}
          webhook: {{repository: acme/webhook, digest: "{D}"}}
        """
            },
        )
    )
    assert o.message == "5 of 7 image references pinned by digest"
    assert [v.message.split(" is not")[0] for v in o.violations] == [
        "image kserve/agent",
        "image acme/controller:0.9",
    ]
    assert f"chart/values.yaml:exporter/image quay.io/acme/exporter@{D}" in o.evidence
    assert f"chart/values.yaml:reloader/image acme/reloader:v1.2@{D2}" in o.evidence


def test_compose_services(tmp_path: Path) -> None:
    o = one(
        pins(
            tmp_path,
            {
                "docker-compose.yml": f"""
        services:
          api:
            image: acme/api@{D}
          db:
            image: postgres:16
          app:
            build: .
            image: acme/app:dev
          cache:
            image: redis:${{REDIS_TAG:-7}}
        """
            },
        )
    )
    assert o.message == "1 of 3 image references pinned by digest"
    assert where(o) == [("docker-compose.yml", 5), ("docker-compose.yml", 10)]
    assert "interpolated from a variable" in o.violations[1].message


def test_unparsable_compose_file(tmp_path: Path) -> None:
    o = one(pins(tmp_path, {"compose.yaml": "services:\n  api: [\n"}))
    assert o.message == "cannot parse compose.yaml"
    assert o.violations[0].message.startswith("cannot parse: invalid YAML")
    assert o.violations[0].location == Location("compose.yaml", o.violations[0].location.line)  # type: ignore[union-attr]


def test_allow_glob(tmp_path: Path) -> None:
    o = one(
        pins(
            tmp_path,
            {
                "pod.yaml": """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec: {containers: [{name: a, image: "localhost:5000/dev/app:latest"}]}
        """
            },
            allow=("localhost:5000/*",),
        )
    )
    assert not o.violations and o.message == "all 1 image references pinned by digest"


def test_no_manifest_passes_with_explicit_message(tmp_path: Path) -> None:
    o = one(pins(tmp_path, {"README.md": "x\n"}))
    assert not o.violations and o.error is None
    assert o.message == "no image reference found in 0 deploy manifests"


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet", "Job", "ReplicaSet"])
def test_pod_template_workloads(tmp_path: Path, kind: str) -> None:
    o = one(
        pins(
            tmp_path,
            {
                "w.yaml": f"""
        apiVersion: apps/v1
        kind: {kind}
        metadata: {{name: w}}
        spec:
          template:
            spec:
              containers:
                - name: a
                  image: acme/a:1
        """
            },
        )
    )
    assert where(o) == [("w.yaml", 9)]


def test_kserve_predictor_containers_pinned(tmp_path: Path) -> None:
    o = one(
        pins(
            tmp_path,
            {
                "isvc.yaml": f"""
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {{name: churn}}
        spec:
          predictor:
            model: {{modelFormat: {{name: sklearn}}, storageUri: "s3://m/churn"}}
            containers:
              - name: kserve-container
                image: ghcr.io/acme/churn-server@{D}
        """
            },
        )
    )
    assert not o.violations
    assert o.evidence == (f"isvc.yaml:spec/predictor/containers/0/image ghcr.io/acme/churn-server@{D}",)


# --- the Dockerfile read as BuildKit reads it (moby/buildkit frontend/dockerfile/parser) ----------------


def messages(o: Outcome) -> list[str]:
    return [v.message for v in o.violations]


def test_quoted_heredoc_marker_hides_nothing(tmp_path: Path) -> None:
    # `"<<EOF"` is a quoted word, not a heredoc: every later line is an instruction
    o = one(base(tmp_path, {"Dockerfile": f'FROM alpine@{D}\nRUN echo "<<EOF"\nFROM python:latest\n'}))
    assert where(o) == [("Dockerfile", 3)]
    assert messages(o)[0].startswith("FROM python:latest is not pinned by digest")


@pytest.mark.parametrize(
    "run",
    ["RUN cat<<EOF", "RUN echo '<<EOF'", "RUN echo \\<<EOF", 'RUN ["sh", "-c", "cat <<EOF"]', "RUN echo ${} <<EOF"],
)
def test_lines_that_are_not_heredocs_in_buildkit(tmp_path: Path, run: str) -> None:
    # `cat<<EOF` is one word not starting with <<; a JSON form has no heredoc; a line BuildKit cannot split
    # into words (a bad substitution) opens none
    o = one(base(tmp_path, {"Dockerfile": f"FROM alpine@{D}\n{run}\nFROM python:latest\nEOF\n"}))
    assert where(o) == [("Dockerfile", 3)], run


@pytest.mark.parametrize(
    "run",
    [
        "RUN cat << EOF",
        "RUN <<EOF",
        "RUN 3<<'EOF' cat",
        'COPY <<"EOF" /x',
        "ADD <<EOF /x",
        "ONBUILD RUN <<EOF",
        "RUN --mount=type=cache,target=/c <<EOF",
    ],
)
def test_heredoc_bodies_are_content(tmp_path: Path, run: str) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"FROM alpine@{D}\n{run}\nFROM python:latest AS hidden\nEOF\nFROM hidden\n"}))
    # the body is content: `hidden` is no stage, so the last FROM pulls an image named hidden
    assert where(o) == [("Dockerfile", 5)], run
    assert messages(o)[0].startswith("FROM hidden is not pinned by digest")


def test_heredoc_ends_only_at_the_exact_delimiter(tmp_path: Path) -> None:
    o = one(
        base(
            tmp_path,
            {
                "Dockerfile": f"FROM alpine@{D}\nRUN <<EOF\n  EOF\nEOF \nFROM ubuntu:22.04\nEOF\n"
                "RUN <<-END\n\t\tFROM x\n\tEND\nFROM debian:12\n"
            },
        )
    )
    assert where(o) == [("Dockerfile", 10)]  # `  EOF`, `EOF ` are body lines; `<<-` strips leading tabs


def test_two_heredocs_on_one_line(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"FROM alpine@{D}\nCOPY <<A <<B /dst/\nFROM a\nA\nFROM b\nB\nFROM c\n"}))
    assert where(o) == [("Dockerfile", 7)]


def test_unterminated_heredoc_is_refused(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"FROM alpine@{D}\nRUN <<EOF\nFROM python:latest\n"}))
    assert messages(o) == [
        "BuildKit refuses this Dockerfile (line 2: unterminated heredoc EOF); what follows was not read"
    ]
    assert o.message == "BuildKit refuses it: line 2: unterminated heredoc EOF"


def test_byte_order_mark_does_not_hide_the_first_from(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"\xef\xbb\xbfFROM python:latest\n")
    facts = read_facts(tmp_path, "dockerfiles")
    o = one(list(base_pinned(facts, PinParams(), Target())))
    assert where(o) == [("Dockerfile", 1)]
    assert messages(o)[0].startswith("FROM python:latest is not pinned")


def test_tab_after_the_keyword_and_crlf_line_ends(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(f"FROM alpine@{D}\r\nFROM\tpython:latest\r\n".encode())
    o = one(list(base_pinned(read_facts(tmp_path, "dockerfiles"), PinParams(), Target())))
    assert where(o) == [("Dockerfile", 2)]


def test_run_mount_from_an_image_is_judged_like_from(tmp_path: Path) -> None:
    o = one(
        base(
            tmp_path,
            {
                "Dockerfile": f"""
        FROM golang@{D} AS build
        FROM alpine@{D}
        RUN --mount=type=bind,from=python:latest,target=/py \\
            --mount=type=cache,target=/root/.cache \\
            --mount="from=Build,source=/out,target=/out" \\
            --mount=from=tool@{D},target=/t \\
            --mount=type=bind,FROM=ubuntu:22.04 true
        RUN echo --mount=from=not-a-flag:latest
        """
            },
        )
    )
    assert where(o) == [("Dockerfile", 3), ("Dockerfile", 3)]
    assert messages(o)[0].startswith("RUN --mount from python:latest is not pinned by digest")
    assert messages(o)[1].startswith("RUN --mount from ubuntu:22.04 is not pinned by digest")
    assert f"Dockerfile:3 RUN --mount from tool@{D}" in o.evidence  # pinned; `Build` is the build stage


def test_copy_from_only_as_a_leading_flag(tmp_path: Path) -> None:
    o = one(
        base(
            tmp_path,
            {
                "Dockerfile": f"FROM alpine@{D}\nCOPY src --from=python:latest /dst\n"
                'COPY --chown=1 "--from=x" /a /b\nCOPY --from="nginx:1" /a /b\n'
            },
        )
    )
    assert where(o) == [("Dockerfile", 4)]  # a --from after a source is a path; a quoted flag value counts
    assert messages(o)[0].startswith("COPY --from nginx:1 is not pinned")


def test_unpinned_syntax_frontend_is_an_image(tmp_path: Path) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"# syntax=evil/frontend:latest\nFROM alpine@{D}\n"}))
    assert where(o) == [("Dockerfile", 1)]
    assert messages(o)[0].startswith("# syntax evil/frontend:latest is not pinned by digest")
    allowed = one(
        base(
            tmp_path / "b",
            {"Dockerfile": f"#!/x\n//syntax = docker/dockerfile:1\nFROM alpine@{D}\n"},
            allow=("docker/dockerfile:*",),
        )
    )
    assert not allowed.violations and allowed.evidence[0] == "Dockerfile:2 # syntax docker/dockerfile:1"


def test_escape_directive_only_before_anything_else(tmp_path: Path) -> None:
    # an unknown directive ends the directives: `escape` after it is a comment, so ` is no continuation
    o = one(base(tmp_path, {"Dockerfile": f"# foo=bar\n# escape=`\nFROM alpine@{D}\nRUN echo `\nFROM python:3\n"}))
    assert where(o) == [("Dockerfile", 5)]
    twice = one(base(tmp_path / "b", {"Dockerfile": f"# escape=`\n# escape=\\\nFROM alpine@{D}\n"}))
    assert messages(twice)[0].startswith("BuildKit refuses this Dockerfile (line 2: only one escape parser")


def test_continuations_join_as_written(tmp_path: Path) -> None:
    o = one(
        base(
            tmp_path,
            {"Dockerfile": f"FROM alpine@{D}\nRUN echo a\\\\\nFROM python:3\nFROM pyth\\\n  # comment\n\non@{D}\n"},
        )
    )
    # an escaped escape does not continue; blank and comment lines inside a continuation vanish, and the
    # parts are joined as written (`FROM pyth` + `on@...` is `FROM python@...`)
    assert where(o) == [("Dockerfile", 3)]
    assert o.evidence[-1] == f"Dockerfile:4 FROM python@{D}"


def test_stage_names_match_buildkit(tmp_path: Path) -> None:
    o = one(
        base(
            tmp_path,
            {
                "Dockerfile": f"FROM alpine@{D} AS Base\nFROM base\nFROM Base\nFROM later\n"
                f"FROM alpine@{D} AS later\nCOPY --from=BASE /a /b\n"
            },
        )
    )
    # stage names are lower-cased; FROM matches them as written, and only earlier ones
    assert where(o) == [("Dockerfile", 3), ("Dockerfile", 4)]


@pytest.mark.parametrize(
    "line", ["FROM ${BASE%@*}", "FROM ${BASE/@*/}", "FROM ${NOPE?unset}", "FROM $TARGETARCH/python"]
)
def test_expansions_the_gate_does_not_evaluate_are_unknown(tmp_path: Path, line: str) -> None:
    o = one(base(tmp_path, {"Dockerfile": f"ARG BASE=python:3.12@{D}\n{line}\n"}))
    assert where(o) == [("Dockerfile", 2)]
    assert ": cannot resolve (" in messages(o)[0], messages(o)


def test_arg_defaults_that_double_at_each_line_are_bounded(tmp_path: Path) -> None:
    lines = "ARG A0=xxxxxxxx\n" + "".join(f"ARG A{i}=${{A{i - 1}}}${{A{i - 1}}}\n" for i in range(1, 60))
    o = one(base(tmp_path, {"Dockerfile": lines + "FROM $A59\n"}))
    assert messages(o) == ["FROM $A59: cannot resolve (expands to more than 65536 characters)"]
    chained = one(base(tmp_path / "b", {"Dockerfile": "ARG B\nARG A=${B}x\nFROM $A\n"}))
    assert messages(chained) == ["FROM $A: cannot resolve (build arg B has no default value)"]
