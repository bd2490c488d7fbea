"""Keyless verification costs: importing sigstore-python (paid only by a policy with `signers`), and verifying one
bundle or classic layer with the gate's verifier, offline, against a self-made trust root (tests/support).

    python benchmarks/sigstore_keyless.py [RUNS]      # default 20; medians and p90, in milliseconds

Import: a fresh interpreter each run, `import sigstore.verify` (what `_sigstore_bundle.require()` costs the first
time) against a bare `python -c pass`. Per bundle: the first verification (the trusted root parsed, the verifier
built) and the steady state (`Verifiers` reused within a check run, as the checks do).
"""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops_gate.checks import _fulcio, _sigstore_bundle, _sigstore_classic, _sigstore_roots
from tests.support.sigstore_instance import GITHUB_ISSUER, Instance, sign_v1


def wall(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        out.append(time.perf_counter() - start)
    return sorted(out)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return sorted(out)


def show(label: str, times: list[float]) -> None:
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    print(f"{label:58s} median {statistics.median(times) * 1000:8.1f} ms   p90 {p90 * 1000:8.1f} ms")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"python {sys.version.split()[0]}, {runs} runs each")
    bare = wall([sys.executable, "-c", "pass"], runs)
    show("python -c pass", bare)
    show("python -c 'import sigstore.verify'", wall([sys.executable, "-c", "import sigstore.verify"], runs))
    show(
        "python -c 'import rfc3161_client' (own RFC 3161 path)",
        wall([sys.executable, "-c", "import rfc3161_client"], runs),
    )

    inst = Instance("bench")
    digest = "sha256:" + hashlib.sha256(b"manifest").hexdigest()
    identity = _fulcio.Identity(
        (_fulcio.Signer(GITHUB_ISSUER, ("https://github.com/acme/churn/.github/workflows/*",)),),
        "acme/churn",
        "github.com",
    )
    public = _sigstore_roots.parse(json.dumps(inst.trusted_root()), "root")
    github = _sigstore_roots.parse(json.dumps(inst.trusted_root(tlogs=False, ctlogs=False, keys_present=False)), "gh")
    dsse = json.dumps(inst.dsse_bundle(sign_v1(digest)))
    stamped = json.dumps(inst.dsse_bundle(sign_v1(digest), log=False, stamp=True, sct=False))
    message = json.dumps(inst.message_bundle(b"manifest"))
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": digest}}}).encode()
    ann = inst.classic_sig(payload)
    shared = _sigstore_bundle.Verifiers()

    def classic() -> object:
        return _sigstore_classic.verify_layer(
            payload,
            ann["dev.cosignproject.cosign/signature"],
            ann["dev.sigstore.cosign/certificate"],
            ann["dev.sigstore.cosign/bundle"],
            public,
            identity,
        )

    show(
        "first bundle (root parsed, verifier built, DSSE)",
        timed(
            lambda: _sigstore_bundle.verify(
                dsse,
                _sigstore_roots.parse(json.dumps(inst.trusted_root()), "r"),
                identity,
                digest,
                _sigstore_bundle.Verifiers(),
            ),
            runs,
        ),
    )
    show(
        "DSSE bundle, sigstore-python (inclusion proof + SET)",
        timed(lambda: _sigstore_bundle.verify(dsse, public, identity, digest, shared), runs),
    )
    show(
        "message-signature bundle, sigstore-python",
        timed(lambda: _sigstore_bundle.verify(message, public, identity, digest, shared), runs),
    )
    show(
        "GitHub-instance bundle (RFC 3161 only, own path)",
        timed(lambda: _sigstore_bundle.verify(stamped, github, identity, digest, shared), runs),
    )
    show("classic cosign .sig layer (SET only, own path)", timed(classic, runs))


if __name__ == "__main__":
    main()
