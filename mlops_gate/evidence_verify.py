"""`verify-evidence FILE [--key PEM]`: everything that can be checked about an evidence bundle.

Always: the bundle's structure; its content sha256; the policy as applied against its digest; that the
release, the targets and the verdict agree with each other; and, when it is signed, the DSSE envelope's
structure and the signed in-toto statement against the bundle (the sha256, commit, verdict, policy it
names). That proves the file is self-consistent, not who wrote it: without `--key` the answer says
UNAUTHENTICATED — anyone able to write the file could have resealed and re-signed it with a key of
their own. With `--key` the signature must verify with that key: authenticated.

Exit codes (cli): 0 intact (and, with --key, signed by that key) · 1 not intact, inconsistent or not
verified · 2 not a bundle, unreadable, too large or too deeply nested, or an unusable --key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_gate import jsonfile, signing
from mlops_gate.errors import UsageError
from mlops_gate.evidence import (
    KIND,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    SCHEMA_VERSION,
    STATEMENT_TYPE,
    applied_digest,
    digest,
    load_public_key,
    statement,
)

VERDICTS = ("pass", "fail", "error")


def shown(text: str) -> str:
    """Text safe for a terminal: control characters and undecodable bytes of file names escaped, so that
    nothing in a bundle can rewrite the line that reports on it."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def read(path: str) -> dict[str, Any]:
    """The bundle's data; UsageError (exit 2) when it cannot be read or is not an evidence bundle."""
    hint = "an evidence bundle is written by `mlops-gate audit --evidence FILE`"
    try:
        data = jsonfile.read(Path(path))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except jsonfile.JsonFileError as exc:
        raise UsageError(f"{path} {exc}", hint) from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise UsageError(f"{path}: not an mlops-gate evidence bundle", hint)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise UsageError(
            f"{path}: evidence schema_version {version!r}; this mlops-gate reads {SCHEMA_VERSION}",
            "verify it with the mlops-gate version that wrote it (bundle `tool.version`)",
        )
    return data


def verify(path: str, key_path: str | None) -> tuple[bool, str]:
    """(valid, one line saying what was found and checked). UsageError when the file or the key cannot be
    used at all."""
    bundle = read(path)
    key = load_public_key(key_path) if key_path else None
    ok, message = _verify(bundle, key, key_path or "")
    return ok, shown(f"{path}: {message}")


def check(bundle: dict[str, Any]) -> tuple[bool, str]:
    """What verify-evidence without a key says about already-read bundle data (`--facts-in BUNDLE`)."""
    return _verify(bundle, None, "")


def _verify(bundle: dict[str, Any], key: Any, key_path: str) -> tuple[bool, str]:
    problem = structure(bundle)
    if problem:
        return False, f"INVALID: {problem}"
    recorded, actual = bundle["sha256"], digest(bundle)
    if recorded != actual:
        return False, (
            f"TAMPERED: the bundle does not match its sha256 (tampered?): its content's sha256 is "
            f"{actual}, it records {recorded}"
        )
    problem = consistency(bundle)
    if problem:
        return False, f"INVALID: intact, but {problem} (edited and resealed?)"
    what = describe(bundle)
    envelope = bundle.get("signature")
    if envelope is None:
        if key is not None:
            return False, f"INVALID: intact but not signed (write it with --sign-key); {what}"
        return True, (
            f"intact (sha256 {actual}); {what}; not signed: UNAUTHENTICATED (anyone able to write "
            "the file could have written it; sign with `audit --sign-key`, verify with --key)"
        )
    parsed = _envelope(envelope)
    if isinstance(parsed, str):
        return False, f"INVALID: the signature is not a valid DSSE envelope: {parsed}"
    payload, sigs, keyids = parsed
    if key is not None and not any(signing.verify(s, signing.pae(PAYLOAD_TYPE, payload), key) for s in sigs):
        return False, f"INVALID SIGNATURE: it does not verify with {key_path} (keyid {signing.key_id(key)})"
    problem = statement_mismatch(payload, bundle)
    if problem:
        signed = (
            "the signature is valid but for another bundle"
            if key is not None
            else "the signature covers another bundle (edited and resealed?)"
        )
        return False, f"INVALID: {signed}: {problem}"
    if key is None:
        claimed = ", ".join(keyids) or "none given"
        return True, (
            f"intact (sha256 {actual}) and its signed statement matches it; {what}; signature "
            f"UNAUTHENTICATED: not checked against a key (keyid claimed: {claimed}); pass --key PEM "
            "to check who signed it"
        )
    signer = f"{key_path} (keyid {signing.key_id(key)})"
    return True, f"valid: intact (sha256 {actual}) and signed by {signer}: authenticated; {what}"


def describe(bundle: Mapping[str, Any]) -> str:
    release, report = bundle["release"], bundle["report"]
    facts = bundle.get("facts_source")
    source = (
        f"; facts replayed from {bundle.get('facts_file')}"
        if facts == "replayed"
        else "; facts read live"
        if facts == "live"
        else ""
    )
    return f"release {release['tag']} at {release['commit']}, verdict {report['verdict']}{source}"


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def structure(bundle: Mapping[str, Any]) -> str | None:
    """What is missing or malformed in the bundle's own fields, or None."""
    sha = bundle.get("sha256")
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        return "no sha256 (64 lowercase hex digits)"
    for name in ("tool", "release", "target", "policy", "run", "facts", "report"):
        if not isinstance(bundle.get(name), dict):
            return f"{name} is missing or not an object"
    if not _is_str(bundle.get("created")):
        return "created is missing"
    release, report, policy = bundle["release"], bundle["report"], bundle["policy"]
    if not (_is_str(release.get("tag")) and _is_str(release.get("commit"))):
        return "release.tag or release.commit is missing"
    if not (
        _is_str(policy.get("source")) and _is_str(policy.get("digest")) and isinstance(policy.get("applied"), dict)
    ):
        return "policy.source, policy.digest or policy.applied is missing"
    if report.get("verdict") not in VERDICTS or not _is_str(report.get("fail_on")):
        return "report.verdict or report.fail_on is missing"
    results = report.get("results")
    if not isinstance(results, list) or not isinstance(report.get("summary"), dict):
        return "report.results or report.summary is missing"
    for i, r in enumerate(results):
        if not isinstance(r, dict) or not all(
            isinstance(r.get(k), str) for k in ("check", "subject", "severity", "message", "status")
        ):
            return f"report.results[{i}] is not a result"
    if "facts_source" in bundle:
        source, file = bundle["facts_source"], bundle.get("facts_file")
        if not ((source == "live" and file is None) or (source == "replayed" and _is_str(file))):
            return "facts_source is neither live nor replayed from a file"
    return None


def consistency(bundle: Mapping[str, Any]) -> str | None:
    """Do the parts of an intact bundle agree: the policy with its digest, every recorded commit and tag with
    the release, the verdict with the results?"""
    release, report = bundle["release"], bundle["report"]
    if applied_digest(bundle["policy"]["applied"]) != bundle["policy"]["digest"]:
        return "the policy as applied does not match its digest"
    facts_target = bundle["facts"].get("target")
    for where, tgt in (
        ("target", bundle["target"]),
        ("report.target", report.get("target")),
        ("facts.target", facts_target),
    ):
        if not isinstance(tgt, dict):
            continue
        if tgt.get("commit") not in (None, release["commit"]):
            return f"{where}.commit {tgt['commit']} is not the release commit {release['commit']}"
        if tgt.get("release") not in (None, release["tag"]):
            return f"{where}.release {tgt['release']} is not the release {release['tag']}"
    results = report["results"]
    verdict = (
        "fail"
        if any(r.get("blocking") is True and r["status"] == "failed" for r in results)
        else "error"
        if report.get("errors") or any(r["status"] == "error" for r in results)
        else "pass"
    )
    if verdict != report["verdict"]:
        return f"the report's verdict is {report['verdict']} but its results make it {verdict}"
    if bundle.get("facts_source") is not None and report.get("facts_source") not in (None, bundle["facts_source"]):
        return f"report.facts_source {report.get('facts_source')} is not the bundle's {bundle['facts_source']}"
    return None


def _envelope(envelope: Any) -> tuple[bytes, list[bytes], list[str]] | str:
    """(payload, signatures, claimed key ids) of a DSSE envelope, or what is wrong with it."""
    if not isinstance(envelope, dict):
        return "not an object"
    unknown = sorted(set(envelope) - {"payloadType", "payload", "signatures"})
    if unknown:
        return f"unknown keys {', '.join(map(str, unknown))}"
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        return f"payloadType {envelope.get('payloadType')!r}, expected {PAYLOAD_TYPE}"
    sigs, keyids = [], []
    try:
        payload = base64.b64decode(str(envelope.get("payload")), validate=True)
        entries = envelope.get("signatures")
        if not isinstance(entries, list) or not entries:
            return "no signatures"
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("sig"), str):
                return "a signature without sig"
            sig = base64.b64decode(entry["sig"], validate=True)
            if not sig:
                return "an empty signature"
            sigs.append(sig)
            if isinstance(entry.get("keyid"), str) and entry["keyid"]:
                keyids.append(entry["keyid"])
    except (binascii.Error, ValueError):
        return "payload or sig is not base64"
    return payload, sigs, keyids


def statement_mismatch(payload: bytes, bundle: Mapping[str, Any]) -> str | None:
    """Where the signed statement and the statement of this bundle differ, or None."""
    try:
        signed = json.loads(payload)
    except (ValueError, RecursionError):
        return "the signed payload is not JSON"
    if jsonfile.depth(signed) > jsonfile.MAX_DEPTH or not isinstance(signed, dict):
        return "the signed payload is not a statement"
    if signed.get("_type") != STATEMENT_TYPE or signed.get("predicateType") != PREDICATE_TYPE:
        return f"the signed payload is not an mlops-gate decision statement ({PREDICATE_TYPE})"
    expected = statement(bundle)
    predicate: dict[str, Any] = signed["predicate"] if isinstance(signed.get("predicate"), dict) else {}
    named = predicate.get("bundle", {}).get("sha256") if isinstance(predicate.get("bundle"), dict) else None
    if named != bundle["sha256"]:
        return f"the signed statement names sha256 {named}"
    if signed.get("subject") != expected["subject"]:
        subjects: list[Any] = signed["subject"] if isinstance(signed.get("subject"), list) else []
        commits = [
            str(s.get("digest", {}).get("gitCommit"))
            for s in subjects
            if isinstance(s, dict) and isinstance(s.get("digest"), dict) and s["digest"].get("gitCommit")
        ]
        if bundle["release"]["commit"] not in commits:
            return f"the signed statement names another commit ({', '.join(commits) or 'none'})"
        return "the signed statement's subjects are not the bundle's release and image"
    for key in sorted(set(expected["predicate"]) | set(predicate)):
        if predicate.get(key) != expected["predicate"].get(key):
            return f"the signed statement's predicate.{key} differs from the bundle's"
    if set(signed) != set(expected):
        return f"the signed statement has other keys ({', '.join(sorted(map(str, set(signed) ^ set(expected))))})"
    return None
