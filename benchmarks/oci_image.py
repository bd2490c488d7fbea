"""Requests and wall time per image check against a local Debian `docker-registry` (distribution 2.8).

    python benchmarks/oci_image.py          # needs docker-registry and skopeo; 20 runs per case

Each case reads the `oci_image` facts as the engine does for that selection of checks (one signature,
one attestation; the registry has no referrers API, so the `sha256-<hex>` tag fallback is asked too).
Prints requests (the same on every run) and the median / p90 wall time in milliseconds.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops_gate.engine import collect  # noqa: E402
from mlops_gate.target import Target  # noqa: E402
from tests.support.oci_registry import (  # noqa: E402
    COMMIT,
    Layout,
    Signer,
    registries,
    slsa_v1,
    tools_missing,
)

RUNS = 20
LABELS = {
    "org.opencontainers.image.source": "https://github.com/acme/churn",
    "org.opencontainers.image.revision": COMMIT,
}
SCOPES = {
    "image.digest-pinned": (),
    "image.labels": ("labels",),
    "image.signature": ("signatures", "key:cosign.pub"),
    "image.provenance": ("attestations", "key:cosign.pub"),
    "all image checks + release": ("labels", "signatures", "attestations", "key:cosign.pub"),
}


def main() -> int:
    missing = tools_missing()
    if missing:
        print(f"skipped: {missing}")
        return 0
    key = Signer.ec()
    with registries() as (plain, token), tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "cosign.pub").write_text(key.pem)
        layout = Layout(root / "layout")
        single = layout.image(LABELS, content=b"single")
        layout.tag(single, "single")
        index = layout.index([(layout.image(LABELS, a, content=a.encode()), a) for a in ("amd64", "arm64")])
        layout.tag(index, "multi")
        images = {}
        for reg, name in ((plain, "anonymous"), (token, "token auth")):
            for tag, desc in (("single", single), ("multi", index)):
                reg.push_layout(layout, tag, "ml/churn", all_platforms=tag == "multi")
                reg.sign("ml/churn", desc["digest"], key)
                reg.attest("ml/churn", desc["digest"], slsa_v1(desc["digest"]), key)
                images[f"{name}, {tag}"] = f"{reg.host}/ml/churn@{desc['digest']}"
        env = {"MLOPS_GATE_REGISTRY_USERNAME": "ci", "MLOPS_GATE_REGISTRY_PASSWORD": "s3cret-pass"}
        print(f"{'image':<22} {'checks':<28} {'requests':>8} {'median ms':>10} {'p90 ms':>8}")
        for label, ref in images.items():
            for case, scope in SCOPES.items():
                times, requests = [], 0
                for _ in range(RUNS):
                    start = time.perf_counter()
                    record = collect({"oci_image": frozenset(scope)}, root, Target(image=ref), env)["oci_image"]
                    times.append((time.perf_counter() - start) * 1000)
                    assert record.error is None, record.error
                    requests = record.requests
                times.sort()
                p90 = times[int(len(times) * 0.9) - 1]
                print(f"{label:<22} {case:<28} {requests:>8} {statistics.median(times):>10.1f} {p90:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
