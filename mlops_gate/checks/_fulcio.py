"""Who signed, according to a Fulcio certificate, and the identity policy keyless signers must meet.

A Fulcio leaf certificate carries the OIDC identity of the signer: the SAN (for CI, the workflow that
signed), and extensions under 1.3.6.1.4.1.57264.1 (sigstore/fulcio docs/oid-info.md): 1.1-1.6 raw UTF-8
(deprecated), 1.8 and later DER UTF8String. The gate binds a signature to the gated repository and commit
through 1.12 (source repository URI) and 1.13 (source repository digest) — never through the SAN, which
names the reusable workflow or generator that signed, not the repository it built.

Certificates issued before Fulcio added 1.8-1.22 (mid-2023) lack 1.12/1.13: they cannot be bound to the
gated repository and are rejected (fail closed), never matched through the deprecated 1.5 (`owner/name`).

Pure over `cryptography` certificates; no Sigstore library needed.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_gate.lang import slsa

if TYPE_CHECKING:
    from cryptography import x509

OID = "1.3.6.1.4.1.57264.1."
ISSUER_V1, ISSUER, RUNNER, SOURCE_REPO, SOURCE_DIGEST, SOURCE_REF = 1, 8, 11, 12, 13, 14
HOSTED = ("github-hosted", "gitlab-hosted")  # `runner: hosted`: the CI service's own runners


@dataclass(frozen=True)
class Signer:
    """One accepted keyless signer (checks.<id>.params.signers[]): all of its conditions must hold."""

    issuer: str  # the OIDC issuer, exactly (1.8, else 1.1): https://token.actions.githubusercontent.com
    workflows: tuple[str, ...]  # globs over the certificate's SAN: the workflow (or generator) that signed
    source_ref: str = ""  # glob over the source ref (1.14), e.g. refs/tags/v*; "" any ref
    runner: str = "hosted"  # 1.11: hosted (github-hosted or gitlab-hosted), github-hosted, self-hosted, ..., any


@dataclass(frozen=True)
class Claims:
    """What a certificate says about its signer (None: the certificate does not say)."""

    sans: tuple[str, ...]
    issuer: str | None
    runner: str | None
    repository: str | None  # 1.12
    commit: str | None  # 1.13
    ref: str | None  # 1.14

    @property
    def who(self) -> str:
        return f"{self.sans[0] if self.sans else '(no SAN)'} (issuer {self.issuer or 'none'})"


class Mismatch(Exception):
    """The certificate is not one the policy accepts; the message says why."""


def config_problems(signers: tuple[Signer, ...], check_id: str) -> list[str]:
    """Why `signers` cannot be used (an empty issuer or workflow list never means "any")."""
    problems = []
    for i, s in enumerate(signers):
        where = f"checks.{check_id}.params.signers[{i}]"
        if not s.issuer.strip():
            problems.append(f"{where}.issuer is empty: name the OIDC issuer exactly (an empty issuer is never 'any')")
        if not [w for w in s.workflows if w.strip()]:
            problems.append(f"{where}.workflows is empty: list the signing workflows (SAN globs)")
        if not s.runner.strip():
            problems.append(f"{where}.runner is empty: hosted (the default), github-hosted, self-hosted or any")
    return problems


def _der_utf8(raw: bytes) -> str | None:
    """The text of a DER UTF8String (tag 0x0C, definite length), None when it is not exactly one."""
    if len(raw) < 2 or raw[0] != 0x0C:
        return None
    n, i = raw[1], 2
    if n & 0x80:
        width = n & 0x7F
        if not 1 <= width <= 4 or len(raw) < 2 + width:
            return None
        n, i = int.from_bytes(raw[2 : 2 + width], "big"), 2 + width
    if i + n != len(raw):
        return None
    try:
        return raw[i:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def extension(cert: x509.Certificate, n: int) -> str | None:
    """Fulcio extension 1.3.6.1.4.1.57264.1.`n` as text (None: absent or malformed)."""
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(f"{OID}{n}")).value
    except x509.ExtensionNotFound:
        return None
    raw = ext.value if isinstance(ext, x509.UnrecognizedExtension) else b""
    if n <= 6:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return _der_utf8(raw)


def sans(cert: x509.Certificate) -> tuple[str, ...]:
    """URI, e-mail and Fulcio OtherName (1.7, username) SANs."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    out = [str(v) for v in san.get_values_for_type(x509.UniformResourceIdentifier)]
    out += [str(v) for v in san.get_values_for_type(x509.RFC822Name)]
    for other in san.get_values_for_type(x509.OtherName):
        text = _der_utf8(other.value) if other.type_id.dotted_string == f"{OID}7" else None
        if text is not None:
            out.append(text)
    return tuple(out)


def claims(cert: x509.Certificate) -> Claims:
    return Claims(
        sans(cert),
        extension(cert, ISSUER) or extension(cert, ISSUER_V1),
        extension(cert, RUNNER),
        extension(cert, SOURCE_REPO),
        extension(cert, SOURCE_DIGEST),
        extension(cert, SOURCE_REF),
    )


@dataclass(frozen=True)
class Identity:
    """The identity policy of one check run: any of `signers`, bound to the gated repository (on `host`) and,
    when the target names one, the gated commit."""

    signers: tuple[Signer, ...]
    repository: str  # owner/name (group/project on GitLab)
    host: str  # slsa.platform_host: github.com, gitlab.com, a GHES / self-managed host
    commit: str = ""  # "": the target names no commit

    def match(self, cert: x509.Certificate) -> Claims:
        """The certificate's claims when one signer accepts them; Mismatch(why) otherwise."""
        got = claims(cert)
        reasons = []
        for s in self.signers:
            why = self._why_not(s, got)
            if why is None:
                return got
            reasons.append(why)
        if len(reasons) == 1:
            raise Mismatch(reasons[0])
        raise Mismatch("; ".join(f"signers[{i}]: {r}" for i, r in enumerate(reasons)))

    def _why_not(self, s: Signer, got: Claims) -> str | None:
        if not s.issuer.strip():
            return "the signer's issuer is empty (a configuration error)"
        if got.issuer != s.issuer:
            return f"issuer {got.issuer or '(none)'} is not {s.issuer}"
        if not any(fnmatch.fnmatchcase(n, w) for n in got.sans for w in s.workflows if w.strip()):
            return f"signed by {', '.join(got.sans) or '(no SAN)'}, which matches none of workflows {list(s.workflows)}"
        if got.repository is None:
            return (
                "the certificate names no source repository (Fulcio extension 1.12; certificates issued before "
                "mid-2023 lack it), so it cannot be bound to the gated repository"
            )
        if not slsa.same_repo(got.repository, self.repository, self.host):
            return f"built from {got.repository} (1.12), not the gated repository {self.repository}"
        if self.commit and not slsa.same_commit(got.commit or "", self.commit):
            return f"built from commit {got.commit or '(none: no 1.13)'}, not the gated commit {self.commit}"
        if s.source_ref and not fnmatch.fnmatchcase(got.ref or "", s.source_ref):
            return f"source ref {got.ref or '(none: no 1.14)'} does not match {s.source_ref}"
        runner = s.runner.strip()
        allowed = HOSTED if runner == "hosted" else None if runner == "any" else (runner,)
        if allowed is not None and got.runner not in allowed:
            return f"runner environment {got.runner or '(none: no 1.11)'} is not {' or '.join(allowed)}"
        return None
