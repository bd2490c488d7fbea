"""A self-made Sigstore instance, generated at test time (CI has no network; fetched artifacts stay out of the
repository): a Fulcio-like CA issuing short-lived leaves with the Fulcio OIDC extensions and an embedded SCT
from our own CT log key, a Rekor-like log key (signed entry timestamp, RFC 6962 inclusion proof, signed
checkpoint), an RFC 3161 timestamp authority, and the `trusted_root.json` naming them. From it: the genuine
formats — Sigstore bundles v0.3 (DSSE and message signature; with a log entry, or timestamp-only like
GitHub's instance), and cosign's classic keyless `.sig` / `.att` layers with their annotations.

The details that matter (sigstore-python 4.x accepts all of it offline): the leaf has an empty subject, a
critical SAN, 1.1-1.6 as raw UTF-8 and 1.8+ as DER UTF8String; the SCT signs the TBS without the SCT
extension, which is appended last; the log id is sha256 of the log key's SPKI and the checkpoint's key hint
its first 4 bytes; a TSA chain lists at least two certificates. asn1crypto (test-only) builds the CMS of the
timestamp response.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
SIGNED_AT = NOW - dt.timedelta(hours=1)
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
IN_TOTO = "application/vnd.in-toto+json"
BUNDLE_V3 = "application/vnd.dev.sigstore.bundle.v0.3+json"
SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
KU_SIGN = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
KU_CA = x509.KeyUsage(False, False, False, False, False, True, True, False, False)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def canonical(obj: Any) -> bytes:
    """RFC 8785 for what is logged here (ASCII strings, integers, objects)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _der(tag: int, raw: bytes) -> bytes:
    n = len(raw)
    length = (
        bytes([n])
        if n < 128
        else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    )
    return bytes([tag]) + length + raw


def _spki(key: Any) -> bytes:
    return bytes(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mlops-gate tests"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def _ca(
    subject: x509.Name, key: Any, issuer: x509.Name, issuer_key: Any, path_len: int, eku: bool = False
) -> x509.Certificate:
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=30))
        .not_valid_after(NOW + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
        .add_extension(KU_CA, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_key is not key:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return b.sign(issuer_key, hashes.SHA384())


@dataclass(frozen=True)
class Identity:
    """What the signing CI job's OIDC token said (defaults: a GitHub Actions release workflow of acme/churn)."""

    repo: str = "https://github.com/acme/churn"
    commit: str = "0123456789abcdef0123456789abcdef01234567"
    workflow: str = "https://github.com/acme/churn/.github/workflows/release.yml@refs/tags/v1.0.0"
    issuer: str = GITHUB_ISSUER
    runner: str = "github-hosted"
    ref: str = "refs/tags/v1.0.0"
    v2_extensions: bool = True  # False: a certificate from before mid-2023 (1.1-1.6 only)
    email: str = ""  # an e-mail identity (SAN rfc822Name) instead of a workflow URI


def _mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


@dataclass
class Instance:
    """One self-made Sigstore instance: Fulcio CA, CT log, Rekor log, timestamp authority."""

    label: str = "test"
    keys: dict[str, Any] = field(default_factory=dict)
    certs: dict[str, x509.Certificate] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = self.keys
        for name, curve in (
            ("root", ec.SECP384R1()),
            ("inter", ec.SECP384R1()),
            ("ct", ec.SECP256R1()),
            ("rekor", ec.SECP256R1()),
            ("tsa_root", ec.SECP384R1()),
            ("tsa", ec.SECP256R1()),
        ):
            k[name] = ec.generate_private_key(curve)
        root_name, tsa_root_name = _name(f"{self.label}-fulcio-root"), _name(f"{self.label}-tsa-root")
        self.certs["root"] = _ca(root_name, k["root"], root_name, k["root"], 1)
        self.certs["inter"] = _ca(
            _name(f"{self.label}-fulcio-intermediate"), k["inter"], root_name, k["root"], 0, eku=True
        )
        self.certs["tsa_root"] = _ca(tsa_root_name, k["tsa_root"], tsa_root_name, k["tsa_root"], 0)
        self.certs["tsa"] = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{self.label}-tsa"))
            .issuer_name(tsa_root_name)
            .public_key(k["tsa"].public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=30))
            .not_valid_after(NOW + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(KU_SIGN, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(k["tsa_root"].public_key()), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(k["tsa"].public_key()), critical=False)
            .sign(k["tsa_root"], hashes.SHA384())
        )

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(_spki(self.keys["rekor"].public_key())).digest()

    # -- Fulcio -------------------------------------------------------------------------------------------
    def leaf(
        self, key: Any, who: Identity = Identity(), *, sct: bool = True, at: dt.datetime = SIGNED_AT
    ) -> x509.Certificate:
        san: x509.GeneralName = (
            x509.RFC822Name(who.email) if who.email else x509.UniformResourceIdentifier(who.workflow)
        )
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.certs["inter"].subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(at - dt.timedelta(seconds=5))
            .not_valid_after(at + dt.timedelta(minutes=10))
            .add_extension(KU_SIGN, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.keys["inter"].public_key()), critical=False
            )
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
        )
        raw = {
            1: who.issuer,
            2: "push",
            3: who.commit,
            4: "release",
            5: who.repo.split("://", 1)[-1].split("/", 1)[-1],
            6: who.ref,
        }
        v2 = {
            8: who.issuer,
            9: who.workflow,
            10: who.commit,
            11: who.runner,
            12: who.repo,
            13: who.commit,
            14: who.ref,
            15: "123456",
            16: who.repo.rsplit("/", 1)[0],
            17: "654321",
            18: who.workflow,
            19: who.commit,
            20: "push",
            21: f"{who.repo}/actions/runs/1/attempts/1",
            22: "public",
        }
        for n, text in raw.items():
            b = b.add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{n}"), text.encode()),
                critical=False,
            )
        for n, text in v2.items() if who.v2_extensions else ():
            oid = x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{n}")
            b = b.add_extension(x509.UnrecognizedExtension(oid, _der(0x0C, text.encode())), critical=False)
        if not sct:
            return b.sign(self.keys["inter"], hashes.SHA384())
        # the SCT signs the TBS without the SCT extension (RFC 6962 §3.2): sign once without it, then re-issue
        # the same builder with the SCT list appended last, so tbs_precertificate_bytes is what was signed
        tbs = b.sign(self.keys["inter"], hashes.SHA384()).tbs_certificate_bytes
        ms = int(at.timestamp() * 1000)
        issuer_hash = hashlib.sha256(_spki(self.keys["inter"].public_key())).digest()
        signed = (
            struct.pack("!BBQH", 0, 0, ms, 1) + issuer_hash + len(tbs).to_bytes(3, "big") + tbs + struct.pack("!H", 0)
        )
        sig = self.keys["ct"].sign(signed, ec.ECDSA(hashes.SHA256()))
        ct_id = hashlib.sha256(_spki(self.keys["ct"].public_key())).digest()
        one = b"\x00" + ct_id + struct.pack("!QH", ms, 0) + bytes([4, 3]) + struct.pack("!H", len(sig)) + sig
        scts = struct.pack("!H", len(one) + 2) + struct.pack("!H", len(one)) + one
        b = b.add_extension(x509.UnrecognizedExtension(SCT_OID, _der(0x04, scts)), critical=False)
        return b.sign(self.keys["inter"], hashes.SHA384())

    # -- Rekor --------------------------------------------------------------------------------------------
    def log_entry(
        self, body: dict[str, Any], *, at: dt.datetime = SIGNED_AT, proof: bool = True, promise: bool = True
    ) -> dict[str, Any]:
        canon, index, size = canonical(body), 5, 7
        leaves = [hashlib.sha256(b"\x00" + f"another entry {i}".encode()).digest() for i in range(size)]
        leaves[index] = hashlib.sha256(b"\x00" + canon).digest()
        root_hash, when = _mth(leaves), int(at.timestamp())
        entry: dict[str, Any] = {
            "logIndex": str(index),
            "logId": {"keyId": b64(self.log_id)},
            "kindVersion": {"kind": body["kind"], "version": body["apiVersion"]},
            "integratedTime": str(when),
            "canonicalizedBody": b64(canon),
        }
        if promise:
            signed = canonical(
                {"body": b64(canon), "integratedTime": when, "logID": self.log_id.hex(), "logIndex": index}
            )
            entry["inclusionPromise"] = {
                "signedEntryTimestamp": b64(self.keys["rekor"].sign(signed, ec.ECDSA(hashes.SHA256())))
            }
        if proof:
            note = f"{self.label}.rekor.example - 1\n{size}\n{b64(root_hash)}\n"
            sig = self.keys["rekor"].sign(note.encode(), ec.ECDSA(hashes.SHA256()))
            entry["inclusionProof"] = {
                "logIndex": str(index),
                "rootHash": b64(root_hash),
                "treeSize": str(size),
                "hashes": [b64(h) for h in _path(index, leaves)],
                "checkpoint": {
                    "envelope": note + "\n" + f"\u2014 {self.label}.rekor.example {b64(self.log_id[:4] + sig)}\n"
                },
            }
        return entry

    def rekor_annotation(self, entry: dict[str, Any]) -> str:
        """cosign's `dev.sigstore.cosign/bundle` annotation for a log entry."""
        payload = {
            "body": entry["canonicalizedBody"],
            "integratedTime": int(entry["integratedTime"]),
            "logIndex": int(entry["logIndex"]),
            "logID": self.log_id.hex(),
        }
        return json.dumps(
            {"SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"], "Payload": payload}
        )

    # -- timestamp authority ------------------------------------------------------------------------------
    def timestamp(self, message: bytes, at: dt.datetime = SIGNED_AT) -> bytes:
        """An RFC 3161 TimeStampResp over sha256(message)."""
        from asn1crypto import algos, cms, core, tsp
        from asn1crypto import x509 as ax509

        imprint = {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(message).digest()}
        info = tsp.TSTInfo(
            {
                "version": 1,
                "policy": "1.3.6.1.4.1.57264.2",
                "message_imprint": imprint,
                "serial_number": x509.random_serial_number(),
                "gen_time": at,
                "nonce": 42,
            }
        )
        content = info.dump()
        cert = ax509.Certificate.load(self.certs["tsa"].public_bytes(serialization.Encoding.DER))
        attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
                {
                    "type": "signing_certificate_v2",
                    "values": [{"certs": [{"cert_hash": hashlib.sha256(cert.dump()).digest()}]}],
                },
            ]
        )
        signer = {
            "version": "v1",
            "sid": {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}},
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": self.keys["tsa"].sign(attrs.dump(), ec.ECDSA(hashes.SHA256())),
        }
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "certificates": [cert],
                "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(content)},
                "signer_infos": [signer],
            }
        )
        token = {"content_type": "signed_data", "content": signed}
        return bytes(tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump())

    # -- the trusted root ---------------------------------------------------------------------------------
    def trusted_root(
        self, *, tlogs: bool = True, ctlogs: bool = True, tsa: bool = True, keys_present: bool = True
    ) -> dict[str, Any]:
        """`keys_present=False` drops the `tlogs`/`ctlogs` keys altogether, as GitHub's root does."""
        start = (NOW - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")

        def key(k: Any) -> dict[str, Any]:
            return {
                "rawBytes": b64(_spki(k.public_key())),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": start},
            }

        def chain(*names: str) -> dict[str, Any]:
            return {
                "certificates": [
                    {"rawBytes": b64(self.certs[n].public_bytes(serialization.Encoding.DER))} for n in names
                ]
            }

        def log(name: str, service: str) -> dict[str, Any]:
            log_id = hashlib.sha256(_spki(self.keys[name].public_key())).digest()
            return {
                "baseUrl": f"https://{self.label}.{service}.example",
                "hashAlgorithm": "SHA2_256",
                "publicKey": key(self.keys[name]),
                "logId": {"keyId": b64(log_id)},
            }

        root: dict[str, Any] = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}
        if keys_present:
            root["tlogs"] = [log("rekor", "rekor")] if tlogs else []
            root["ctlogs"] = [log("ct", "ctfe")] if ctlogs else []
        root["certificateAuthorities"] = [
            {
                "subject": {"organization": "mlops-gate tests", "commonName": f"{self.label}-fulcio"},
                "uri": f"https://{self.label}.fulcio.example",
                "certChain": chain("inter", "root"),
                "validFor": {"start": start},
            }
        ]
        root["timestampAuthorities"] = (
            [
                {
                    "subject": {"organization": "mlops-gate tests", "commonName": f"{self.label}-tsa"},
                    "uri": f"https://{self.label}.tsa.example",
                    "certChain": chain("tsa", "tsa_root"),
                    "validFor": {"start": start},
                }
            ]
            if tsa
            else []
        )
        return root

    # -- signed things ------------------------------------------------------------------------------------
    def _pem(self, cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    def dsse_bundle(
        self,
        statement: bytes,
        who: Identity = Identity(),
        *,
        log: bool = True,
        stamp: bool = False,
        sct: bool = True,
        at: dt.datetime = SIGNED_AT,
    ) -> dict[str, Any]:
        """A bundle v0.3 with a DSSE envelope: with a Rekor dsse entry (SET + proof), and/or an RFC 3161
        timestamp (`log=False, stamp=True, sct=False`: the shape of GitHub's own instance)."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.leaf(key, who, sct=sct, at=at)
        sig = key.sign(pae(IN_TOTO, statement), ec.ECDSA(hashes.SHA256()))
        env = {"payload": b64(statement), "payloadType": IN_TOTO, "signatures": [{"sig": b64(sig), "keyid": ""}]}
        material: dict[str, Any] = {
            "certificate": {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": [],
        }
        if log:
            spec = {
                "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(canonical(env)).hexdigest()},
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(statement).hexdigest()},
                "signatures": [{"signature": b64(sig), "verifier": b64(self._pem(cert))}],
            }
            material["tlogEntries"].append(self.log_entry({"apiVersion": "0.0.1", "kind": "dsse", "spec": spec}, at=at))
        if stamp:
            material["timestampVerificationData"] = {
                "rfc3161Timestamps": [{"signedTimestamp": b64(self.timestamp(sig, at))}]
            }
        return {"mediaType": BUNDLE_V3, "verificationMaterial": material, "dsseEnvelope": env}

    def message_bundle(self, message: bytes, who: Identity = Identity()) -> dict[str, Any]:
        """A bundle v0.3 with a message signature over `message` (a hashedrekord entry, SET + proof)."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.leaf(key, who)
        sig = key.sign(message, ec.ECDSA(hashes.SHA256()))
        digest = hashlib.sha256(message).digest()
        spec = {
            "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
            "signature": {"content": b64(sig), "publicKey": {"content": b64(self._pem(cert))}},
        }
        entry = self.log_entry({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": spec})
        material = {
            "certificate": {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": [entry],
        }
        signature = {"messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)}, "signature": b64(sig)}
        return {"mediaType": BUNDLE_V3, "verificationMaterial": material, "messageSignature": signature}

    def classic_sig(self, payload: bytes, who: Identity = Identity()) -> dict[str, str]:
        """The annotations of a keyless `.sig` layer whose blob is `payload` (simple signing), as cosign writes."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.leaf(key, who)
        sig = key.sign(payload, ec.ECDSA(hashes.SHA256()))
        spec = {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
            "signature": {"content": b64(sig), "publicKey": {"content": b64(self._pem(cert))}},
        }
        entry = self.log_entry({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": spec}, proof=False)
        return {
            "dev.cosignproject.cosign/signature": b64(sig),
            "dev.sigstore.cosign/certificate": self._pem(cert).decode(),
            "dev.sigstore.cosign/chain": (self._pem(self.certs["inter"]) + self._pem(self.certs["root"])).decode(),
            "dev.sigstore.cosign/bundle": self.rekor_annotation(entry),
        }

    def classic_att(self, statement: bytes, who: Identity = Identity()) -> tuple[bytes, dict[str, str]]:
        """(DSSE envelope blob, annotations) of a keyless `.att` layer, as cosign attest writes."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.leaf(key, who)
        sig = key.sign(pae(IN_TOTO, statement), ec.ECDSA(hashes.SHA256()))
        env = canonical(
            {"payloadType": IN_TOTO, "payload": b64(statement), "signatures": [{"keyid": "", "sig": b64(sig)}]}
        )
        spec = {
            "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(env).hexdigest()},
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(statement).hexdigest()},
            "signatures": [{"signature": b64(sig), "verifier": b64(self._pem(cert))}],
        }
        entry = self.log_entry({"apiVersion": "0.0.1", "kind": "dsse", "spec": spec}, proof=False)
        predicate = json.loads(statement).get("predicateType", "")
        return env, {
            "predicateType": predicate,
            "dev.cosignproject.cosign/signature": "",
            "dev.sigstore.cosign/certificate": self._pem(cert).decode(),
            "dev.sigstore.cosign/chain": (self._pem(self.certs["inter"]) + self._pem(self.certs["root"])).decode(),
            "dev.sigstore.cosign/bundle": self.rekor_annotation(entry),
        }


def pae(payload_type: str, body: bytes) -> bytes:
    return b" ".join([b"DSSEv1", str(len(payload_type)).encode(), payload_type.encode(), str(len(body)).encode(), body])


def sign_v1(digest: str) -> bytes:
    """A cosign v3 signature statement: subject the image digest, predicate sign/v1, empty predicate."""
    algo, hexd = digest.split(":", 1)
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"digest": {algo: hexd}}],
            "predicateType": "https://sigstore.dev/cosign/sign/v1",
            "predicate": {},
        }
    ).encode()
