"""The eight checks that read only the repository's files (no platform, registry, image or Prometheus): what the
start-up and large-repository benchmarks and their tests run."""

FILES_ONLY = (
    "cd.deploy-via-pipeline",
    "ci.pr-pipeline",
    "image.base-pinned",
    "image.digest-pinned",
    "monitoring.alert-routing",
    "monitoring.alert-rules",
    "monitoring.drift-monitor",
    "orchestration.workflow-defined",
)
