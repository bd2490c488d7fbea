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

from mlops_gate import __version__, signing
from mlops_gate.errors import UsageError
from mlops_gate.secrets import redact

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


def scrub(obj: Any, env: Mapping[str, str]) -> Any:
    """Redact every string (keys too): no token reaches a bundle, whatever field it hid in."""
    if isinstance(obj, str):
        return redact(obj, env)
    if isinstance(obj, dict):
        return {scrub(k, env): scrub(v, env) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub(v, env) for v in obj]
    return obj


def build(
    *,
    release: Mapping[str, str],
    target: Mapping[str, Any],
    policy: Mapping[str, Any],
    facts: Mapping[str, Any],
    report: Mapping[str, Any],
    run: Mapping[str, Any],
    env: Mapping[str, str],
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """`facts` is a facts file (factsfile.dump), so `--facts-in BUNDLE` replays it."""
    when = (created or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    bundle: dict[str, Any] = scrub({
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mlops-gate", "version": __version__},
        "created": when.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "release": dict(release),
        "target": dict(target),
        "policy": dict(policy),
        "run": dict(run),
        "facts": dict(facts),
        "report": dict(report),
    }, env)
    bundle["sha256"] = digest(bundle)
    return bundle


def is_bundle(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") == KIND


# --- the signed statement -------------------------------------------------------------------------


def statement(bundle: Mapping[str, Any]) -> dict[str, Any]:
    release, report = bundle["release"], bundle["report"]
    subjects: list[dict[str, Any]] = [
        {"name": f"git+{release.get('repository') or 'repository'}@{release['tag']}",
         "digest": {"gitCommit": release["commit"]}}
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
    return {"name": f"{head}/{last}" if head else last, "digest": {"sha256": dig[len("sha256:"):]}}


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


def _read_pem(path: str, flag: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot read: {exc.strerror or exc}") from None


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
        key = serialization.load_pem_private_key(_read_pem(path, "--sign-key"),
                                                 password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--sign-key {path}: not a usable PEM private key ({exc})",
                         f"an encrypted key needs its passphrase in {KEY_PASSWORD_ENV}") from None
    return _check_type(key, "--sign-key", path)


def load_public_key(path: str) -> Any:
    """A PEM public key (SubjectPublicKeyInfo); a private key is accepted too (its public half is used)."""
    try:
        key = signing.public_key(_read_pem(path, "--key"), private_ok=True)
    except ValueError:
        raise UsageError(f"--key {path}: not a PEM public key") from None
    return _check_type(key, "--key", path)


# --- verify-evidence ------------------------------------------------------------------------------


def read(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not JSON ({exc})", "an evidence bundle is written by `audit --evidence`") from None
    if not is_bundle(data):
        raise UsageError(f"{path}: not an mlops-gate evidence bundle", "write one with `mlops-gate audit --evidence`")
    return dict(data)


def verify(path: str, key_path: str | None) -> tuple[bool, str]:
    """(valid, what was found). UsageError when the file or the key cannot be used at all."""
    bundle = read(path)
    key = load_public_key(key_path) if key_path else None
    recorded, actual = bundle.get("sha256"), digest(bundle)
    if recorded != actual:
        return False, f"{path}: TAMPERED: the content's sha256 is {actual}, the bundle records {recorded}"
    try:
        what = (f"release {bundle['release']['tag']} at {bundle['release']['commit']}, "
                f"verdict {bundle['report']['verdict']}")
    except (KeyError, TypeError):
        return False, f"{path}: INVALID: intact, but release or report is missing"
    if key is None:
        signed = "signed, signature NOT verified (pass --key PEM)" if "signature" in bundle else "not signed"
        return True, f"{path}: intact (sha256 {actual}); {what}; {signed}"
    return _verify_signature(path, bundle, key, key_path or "", what)


def _verify_signature(path: str, bundle: Mapping[str, Any], key: Any, key_path: str, what: str) -> tuple[bool, str]:
    env = bundle.get("signature")
    if not isinstance(env, dict):
        return False, f"{path}: INVALID: intact but not signed (write it with --sign-key)"
    try:
        payload = base64.b64decode(str(env["payload"]), validate=True)
        sigs = [base64.b64decode(str(s["sig"]), validate=True) for s in env["signatures"]]
        payload_type = str(env["payloadType"])
    except (KeyError, TypeError, ValueError):
        return False, f"{path}: INVALID: the signature is not a DSSE envelope"
    if payload_type != PAYLOAD_TYPE:
        return False, f"{path}: INVALID: payloadType {payload_type!r}, expected {PAYLOAD_TYPE}"
    if not any(signing.verify(s, signing.pae(payload_type, payload), key) for s in sigs):
        return False, f"{path}: INVALID SIGNATURE: it does not verify with {key_path} (keyid {signing.key_id(key)})"
    try:
        stmt = json.loads(payload)
        named = stmt["predicate"]["bundle"]["sha256"]
        commits = [s["digest"].get("gitCommit") for s in stmt["subject"]]
        ok_type = stmt["_type"] == STATEMENT_TYPE and stmt["predicateType"] == PREDICATE_TYPE
    except (ValueError, KeyError, TypeError, AttributeError):
        return False, f"{path}: INVALID: the signed payload is not a decision statement"
    if not ok_type:
        return False, f"{path}: INVALID: the signed statement is not an mlops-gate decision ({PREDICATE_TYPE})"
    if named != bundle["sha256"]:
        return False, f"{path}: INVALID: the signature is valid but for another bundle (sha256 {named})"
    if bundle["release"]["commit"] not in commits:
        return False, f"{path}: INVALID: the signed statement names another commit ({', '.join(map(str, commits))})"
    signer = f"{key_path} (keyid {signing.key_id(key)})"
    return True, f"{path}: valid: intact (sha256 {bundle['sha256']}) and signed by {signer}; {what}"
