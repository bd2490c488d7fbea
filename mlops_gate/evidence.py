"""Evidence bundles (`audit --evidence`): one JSON file with the facts, the policy as applied, the report,
the tool and the time, sealed by a SHA-256 over its canonical JSON; optionally the decision signed as an
in-toto Statement in a DSSE envelope (`--sign-key`); `verify-evidence` checks both.

The sha256 covers every key but `sha256` and `signature` (canonical JSON: sorted keys, compact separators,
UTF-8). The signed statement names that sha256, so a valid signature vouches for the whole bundle.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_gate import __version__, secrets, signing
from mlops_gate.errors import UsageError

KIND = "mlops-gate/evidence"
SCHEMA_VERSION = 1
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://mlops-gate.dev/attestation/decision/v1"
KEY_PASSWORD_ENV = "MLOPS_GATE_SIGN_KEY_PASSWORD"
UNSEALED = ("sha256", "signature")


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(bundle: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in bundle.items() if k not in UNSEALED})).hexdigest()


def build(
    *,
    release: Mapping[str, str],
    target: Mapping[str, Any],
    policy: Mapping[str, Any],
    facts: Mapping[str, Any],
    report: Mapping[str, Any],
    run: Mapping[str, Any],
    env: Mapping[str, str],
    facts_file: str | None = None,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """`facts` is a facts file (mlops_gate.facts.saved.dump), so `--facts-in BUNDLE` replays it; `facts_file`: the file
    they were replayed from (None: read live). Every string is redacted (keys too) before sealing: no token
    reaches a bundle, whatever field it hid in. `policy["applied"]` is sealed by its digest after redaction,
    so that a replay can check it."""
    when = (created or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    bundle: dict[str, Any] = secrets.redactor(env).data(
        {
            "kind": KIND,
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "mlops-gate", "version": __version__},
            "created": when.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "release": dict(release),
            "target": dict(target),
            "facts_source": "live" if facts_file is None else "replayed",
            "facts_file": facts_file,
            "policy": dict(policy),
            "run": dict(run),
            "facts": dict(facts),
            "report": dict(report),
        }
    )
    if isinstance(bundle["policy"].get("applied"), dict):
        bundle["policy"]["digest"] = applied_digest(bundle["policy"]["applied"])
    bundle["sha256"] = digest(bundle)
    return bundle


def applied_digest(applied: Mapping[str, Any]) -> str:
    """The digest of a policy as applied (policy.applied()): the same as policy.digest_of."""
    from mlops_gate.policy import digest_applied

    return digest_applied(applied)


def is_bundle(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") == KIND


# --- the signed statement -------------------------------------------------------------------------


def statement(bundle: Mapping[str, Any]) -> dict[str, Any]:
    release, report = bundle["release"], bundle["report"]
    subjects: list[dict[str, Any]] = [
        {
            "name": f"git+{release.get('repository') or 'repository'}@{release['tag']}",
            "digest": {"gitCommit": release["commit"]},
        }
    ]
    image = image_subject(str(bundle.get("target", {}).get("image") or ""))
    if image:
        subjects.append(image)
    blocking = [
        {k: r[k] for k in ("check", "subject", "severity", "message")} for r in report["results"] if r.get("blocking")
    ]
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "verdict": report["verdict"],
            "fail_on": report["fail_on"],
            "summary": report["summary"],
            "blocking": blocking,
            "release": dict(release),
            "policy": {"source": bundle["policy"]["source"], "digest": bundle["policy"]["digest"]},
            "bundle": {"sha256": bundle["sha256"]},
            "tool": bundle["tool"],
            "created": bundle["created"],
            # bundles written before facts_source existed were signed without it
            **(
                {"facts": {"source": bundle["facts_source"], "file": bundle.get("facts_file")}}
                if "facts_source" in bundle
                else {}
            ),
        },
    }


def image_subject(image: str) -> dict[str, Any] | None:
    """`{"name": repository, "digest": {"sha256": hex}}` for an image pinned by digest, else None."""
    name, sep, dig = image.partition("@")
    if not sep or not dig.startswith("sha256:") or len(dig) != 71:
        return None
    head, _, last = name.rpartition("/")
    if ":" in last:  # drop a tag: the digest is what the subject names
        last = last.split(":", 1)[0]
    return {"name": f"{head}/{last}" if head else last, "digest": {"sha256": dig[len("sha256:") :]}}


def sign(bundle: dict[str, Any], key: Any) -> dict[str, Any]:
    """Add `signature`: a DSSE envelope over the decision statement (does not change the sha256)."""
    payload = canonical(statement(bundle))
    sig = signing.sign(key, signing.pae(PAYLOAD_TYPE, payload))
    return {
        **bundle,
        "signature": {
            "payloadType": PAYLOAD_TYPE,
            "payload": base64.b64encode(payload).decode("ascii"),
            "signatures": [{"keyid": signing.key_id(key), "sig": base64.b64encode(sig).decode("ascii")}],
        },
    }


MAX_PEM_BYTES = 1024 * 1024  # a PEM key is a few KiB


def _read_pem(path: str, flag: str) -> bytes:
    try:
        if not Path(path).is_file() and Path(path).exists():
            raise UsageError(f"{flag} {path}: not a regular file")
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_PEM_BYTES:
        raise UsageError(f"{flag} {path}: larger than {MAX_PEM_BYTES // 1024} KiB: not a PEM key")
    return data


def _check_type(key: Any, flag: str, path: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and key.curve.name != "secp256r1":
        raise UsageError(f"{flag} {path}: EC keys must be P-256 (this one is {key.curve.name})")
    if not signing.supported(key):
        raise UsageError(f"{flag} {path}: unsupported key type; use ECDSA P-256, Ed25519 or RSA")
    return key


def load_private_key(path: str, env: Mapping[str, str]) -> Any:
    """A PEM private key (PKCS#8 or traditional); encrypted ones take MLOPS_GATE_SIGN_KEY_PASSWORD."""
    from cryptography.hazmat.primitives import serialization

    password = env.get(KEY_PASSWORD_ENV)
    try:
        key = serialization.load_pem_private_key(_read_pem(path, "--sign-key"), password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"--sign-key {path}: not a usable PEM private key ({exc})",
            f"an encrypted key needs its passphrase in {KEY_PASSWORD_ENV}",
        ) from None
    return _check_type(key, "--sign-key", path)


def load_public_key(path: str) -> Any:
    """A PEM public key (SubjectPublicKeyInfo); a private key is accepted too (its public half is used)."""
    try:
        key = signing.public_key(_read_pem(path, "--key"), private_ok=True)
    except ValueError:
        raise UsageError(f"--key {path}: not a PEM public key") from None
    return _check_type(key, "--key", path)
