"""OCI test material made here: keys, cosign simple-signing payloads, DSSE envelopes, in-toto SLSA
statements, OCI image layouts, and real `docker-registry` servers (plain and token auth) on loopback."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import http.server
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SLSA_V1 = "https://slsa.dev/provenance/v1"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
BUILDER = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.0.0"
REPO = "acme/churn"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


# --- keys and signatures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    private: Any

    @classmethod
    def ec(cls, curve: ec.EllipticCurve | None = None) -> Signer:
        return cls(ec.generate_private_key(curve or ec.SECP256R1()))

    @classmethod
    def rsa(cls) -> Signer:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ed25519(cls) -> Signer:
        return cls(ed25519.Ed25519PrivateKey.generate())

    @property
    def pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign(self, data: bytes, pss: bool = False) -> bytes:
        k = self.private
        if isinstance(k, ec.EllipticCurvePrivateKey):
            algo = hashes.SHA384() if k.curve.key_size == 384 else hashes.SHA256()
            return bytes(k.sign(data, ec.ECDSA(algo)))
        if isinstance(k, rsa.RSAPrivateKey):
            pad = padding.PSS(padding.MGF1(hashes.SHA256()), 32) if pss else padding.PKCS1v15()
            return bytes(k.sign(data, pad, hashes.SHA256()))
        return bytes(k.sign(data))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def simple_signing(digest: str, reference: str) -> bytes:
    """cosign's payload, byte for byte: compact JSON, keys in Go struct order, `"optional":null`."""
    identity = '{"docker-reference":"' + reference + '"}'
    image = '{"docker-manifest-digest":"' + digest + '"}'
    return (
        '{"critical":{"identity":'
        + identity
        + ',"image":'
        + image
        + ',"type":"cosign container image signature"},"optional":null}'
    ).encode()


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 PAE, written from the spec: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body."""
    return b" ".join([b"DSSEv1", str(len(payload_type)).encode(), payload_type.encode(), str(len(body)).encode(), body])


def envelope(statement: bytes, signer: Signer, payload_type: str = IN_TOTO) -> dict[str, Any]:
    return {
        "payloadType": payload_type,
        "payload": b64(statement),
        "signatures": [{"keyid": "", "sig": b64(signer.sign(pae(payload_type, statement)))}],
    }


def slsa_v1(
    digest: str, *, builder: str = BUILDER, repo: str = REPO, commit: str = COMMIT, name: str = "registry/churn"
) -> bytes:
    algo, hexd = digest.split(":", 1)
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {algo: hexd}}],
            "predicateType": SLSA_V1,
            "predicate": {
                "buildDefinition": {
                    "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                    "externalParameters": {
                        "workflow": {
                            "ref": "refs/heads/main",
                            "repository": f"https://github.com/{repo}",
                            "path": ".github/workflows/release.yml",
                        }
                    },
                    "resolvedDependencies": [
                        {"uri": f"git+https://github.com/{repo}@refs/heads/main", "digest": {"gitCommit": commit}}
                    ],
                },
                "runDetails": {"builder": {"id": builder}, "metadata": {"invocationId": "1"}},
            },
        }
    ).encode()


def slsa_v02(digest: str, *, builder: str = BUILDER, repo: str = REPO, commit: str = COMMIT) -> bytes:
    algo, hexd = digest.split(":", 1)
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "subject": [{"name": "registry/churn", "digest": {algo: hexd}}],
            "predicateType": SLSA_V02,
            "predicate": {
                "builder": {"id": builder},
                "buildType": "https://github.com/slsa-framework/slsa-github-generator/container@v1",
                "invocation": {
                    "configSource": {
                        "uri": f"git+https://github.com/{repo}@refs/heads/main",
                        "digest": {"sha1": commit},
                        "entryPoint": ".github/workflows/r.yml",
                    }
                },
                "materials": [{"uri": f"git+https://github.com/{repo}@refs/heads/main", "digest": {"sha1": commit}}],
            },
        }
    ).encode()


# --- OCI image layouts ------------------------------------------------------------------------------


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class Layout:
    """An OCI image layout directory (blobs, index.json), pushed with `skopeo copy oci:DIR:TAG`."""

    root: Path
    refs: list[dict[str, Any]] = field(default_factory=list)

    def blob(self, data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
        d = sha(data)
        path = self.root / "blobs" / "sha256" / d.split(":", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return {"mediaType": media_type, "digest": d, "size": len(data), **extra}

    def image(
        self,
        labels: dict[str, str],
        arch: str = "amd64",
        annotations: dict[str, str] | None = None,
        content: bytes = b"model",
    ) -> dict[str, Any]:
        layer = self.blob(_tar(content), OCI_LAYER)
        config = self.blob(
            canonical(
                {
                    "architecture": arch,
                    "os": "linux",
                    "config": {"Labels": labels, "Cmd": ["serve"]},
                    "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
                }
            ),
            OCI_CONFIG,
        )
        manifest: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
        if annotations:
            manifest["annotations"] = annotations
        return self.blob(canonical(manifest), OCI_MANIFEST)

    def index(
        self, manifests: list[tuple[dict[str, Any], str]], annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{**desc, "platform": {"os": "linux", "architecture": arch}} for desc, arch in manifests],
        }
        if annotations:
            body["annotations"] = annotations
        return self.blob(canonical(body), OCI_INDEX)

    def tag(self, desc: dict[str, Any], tag: str) -> None:
        self.refs.append({**desc, "annotations": {"org.opencontainers.image.ref.name": tag}})
        (self.root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        (self.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": self.refs}))


def _tar(content: bytes) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("model.bin")
        info.size, info.mtime = len(content), 0
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


# --- real registries on loopback --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tools_missing() -> str | None:
    missing = [t for t in ("docker-registry", "skopeo") if shutil.which(t) is None]
    return f"{' and '.join(missing)} not installed (apt-get install docker-registry skopeo)" if missing else None


@dataclass
class Registry:
    host: str  # 127.0.0.1:port
    proc: subprocess.Popen[bytes]
    workdir: Path
    creds: tuple[str, str] | None = None
    token: Any = None

    def push_layout(self, layout: Layout, tag: str, repo: str, *, all_platforms: bool = False) -> None:
        cmd = ["skopeo", "copy", "-q", "--preserve-digests", "--dest-tls-verify=false"]
        if all_platforms:
            cmd.append("--all")
        if self.creds:
            cmd += ["--dest-creds", ":".join(self.creds)]
        cmd += [f"oci:{layout.root}:{tag}", f"docker://{self.host}/{repo}:{tag}"]
        subprocess.run(
            cmd, check=True, capture_output=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": str(self.workdir)}
        )

    # artifacts (signatures, attestations) are pushed through the API, as cosign does
    def _request(
        self, method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None, repo: str = ""
    ) -> Any:
        headers = dict(headers or {})
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.issue(repo, ['pull', 'push'])}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        return urllib.request.urlopen(req, timeout=10)

    def put_blob(self, repo: str, data: bytes) -> str:
        d = sha(data)
        base = f"http://{self.host}/v2/{repo}/blobs/uploads/"
        with self._request("POST", base, b"", repo=repo) as r:
            location = r.headers["Location"]
        if location.startswith("/"):
            location = f"http://{self.host}{location}"
        sep = "&" if "?" in location else "?"
        self._request(
            "PUT", f"{location}{sep}digest={d}", data, {"Content-Type": "application/octet-stream"}, repo=repo
        ).close()
        return d

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str = OCI_MANIFEST) -> str:
        self._request(
            "PUT", f"http://{self.host}/v2/{repo}/manifests/{ref}", body, {"Content-Type": media_type}, repo=repo
        ).close()
        return sha(body)

    def artifact(
        self,
        repo: str,
        ref: str | None,
        layers: list[tuple[bytes, str, dict[str, str]]],
        config_type: str = "application/vnd.oci.image.config.v1+json",
        **extra: Any,
    ) -> str:
        """An OCI manifest whose layers are the given blobs (cosign's layout for .sig / .att tags)."""
        config = b"{}"
        self.put_blob(repo, config)
        descs = []
        for data, media_type, notes in layers:
            descs.append(
                {
                    "mediaType": media_type,
                    "digest": self.put_blob(repo, data),
                    "size": len(data),
                    **({"annotations": notes} if notes else {}),
                }
            )
        body = canonical(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": config_type, "digest": sha(config), "size": len(config)},
                "layers": descs,
                **extra,
            }
        )
        return self.put_manifest(repo, ref or sha(body), body)

    def sign(
        self, repo: str, digest: str, signer: Signer, *, payload: bytes | None = None, signed: bytes | None = None
    ) -> str:
        """A cosign classic signature: tag sha256-<hex>.sig, one simple-signing layer per signature."""
        payload = payload if payload is not None else simple_signing(digest, f"{self.host}/{repo}")
        sig = signer.sign(signed if signed is not None else payload)
        return self.artifact(
            repo,
            digest.replace(":", "-") + ".sig",
            [(payload, SIMPLESIGNING, {"dev.cosignproject.cosign/signature": b64(sig)})],
        )

    def attest(self, repo: str, digest: str, statement: bytes, signer: Signer) -> str:
        env = canonical(envelope(statement, signer))
        return self.artifact(
            repo,
            digest.replace(":", "-") + ".att",
            [(env, DSSE, {"predicateType": json.loads(statement)["predicateType"]})],
        )

    def bundle_referrer(self, repo: str, digest: str, statement: bytes, signer: Signer) -> str:
        """A sigstore bundle v0.3 (DSSE) attached as an OCI 1.1 referrer, listed in the referrers tag-schema
        index `sha256-<hex>` (what clients write when the registry has no referrers API, as 2.8 has not)."""
        bundle = canonical(
            {
                "mediaType": BUNDLE,
                "verificationMaterial": {"publicKey": {"hint": "test"}},
                "dsseEnvelope": envelope(statement, signer),
            }
        )
        size = len(self._manifest(repo, digest))
        ref = self.artifact(
            repo,
            None,
            [(bundle, BUNDLE, {})],
            config_type="application/vnd.oci.empty.v1+json",
            artifactType=BUNDLE,
            subject={"mediaType": OCI_MANIFEST, "digest": digest, "size": size},
        )
        index = canonical(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": ref,
                        "size": len(self._manifest(repo, ref)),
                        "artifactType": BUNDLE,
                    }
                ],
            }
        )
        self.put_manifest(repo, digest.replace(":", "-"), index, OCI_INDEX)
        return ref

    def _manifest(self, repo: str, ref: str) -> bytes:
        with self._request(
            "GET",
            f"http://{self.host}/v2/{repo}/manifests/{ref}",
            headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"},
            repo=repo,
        ) as r:
            return bytes(r.read())

    def stop(self) -> None:
        self.proc.kill()  # a throwaway server: no graceful drain to wait for
        self.proc.wait(5)


def start_registry(workdir: Path, auth: dict[str, Any] | None = None) -> Registry:
    port = free_port()
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-only-secret"},
        **({"auth": auth} if auth else {}),
    }
    path = workdir / "config.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(path)], stdout=subprocess.DEVNULL, stderr=(workdir / "registry.log").open("wb")
    )
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{host}/v2/", timeout=1).close()
            break
        except urllib.error.HTTPError:
            break  # 401: up, and asking for credentials
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((workdir / "registry.log").read_text()) from None
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError(f"docker-registry did not start on {host}")
    return Registry(host, proc, workdir)


# --- a tiny token issuer for `auth: token` ----------------------------------------------------------


@dataclass
class TokenIssuer:
    """Docker's token flow: GET realm?service=&scope= with Basic credentials -> a JWT the registry trusts
    (ES256, the signing certificate in the `x5c` header, chained to the registry's rootcertbundle)."""

    users: dict[str, str]
    service: str = "test-registry"
    issuer: str = "test-issuer"
    key: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    requests: int = 0
    server: Any = None

    def cert_pem(self) -> bytes:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token-issuer")])
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, repo: str, actions: list[str]) -> str:
        def part(obj: Any) -> bytes:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=")

        der = self.cert.public_bytes(serialization.Encoding.DER)
        now = int(time.time())
        header = {"alg": "ES256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": "test",
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": str(now),
            "access": [{"type": "repository", "name": repo, "actions": actions}],
        }
        signing = part(header) + b"." + part(claims)
        r, s = decode_dss_signature(self.key.sign(signing, ec.ECDSA(hashes.SHA256())))
        sig = base64.urlsafe_b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).rstrip(b"=")
        return (signing + b"." + sig).decode()

    def start(self) -> str:
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests += 1
                from urllib.parse import parse_qs, urlsplit

                query = parse_qs(urlsplit(self.path).query)
                auth = self.headers.get("Authorization", "")
                user = None
                if auth.startswith("Basic "):
                    name, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                    user = name if issuer.users.get(name) == pw else None
                    if user is None:
                        self.send_response(401)
                        self.end_headers()
                        return
                repo, actions = "", []
                for scope in query.get("scope", []):
                    kind, _, rest = scope.partition(":")
                    name, _, acts = rest.rpartition(":")
                    if kind == "repository":
                        repo, actions = name, acts.split(",") if user else []
                body = json.dumps({"token": issuer.issue(repo, actions), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def start_token_registry(workdir: Path, users: dict[str, str]) -> Registry:
    issuer = TokenIssuer(users)
    bundle = workdir / "token-ca.pem"
    workdir.mkdir(parents=True, exist_ok=True)
    bundle.write_bytes(issuer.cert_pem())
    realm = issuer.start()
    try:
        reg = start_registry(
            workdir,
            {
                "token": {
                    "realm": realm,
                    "service": issuer.service,
                    "issuer": issuer.issuer,
                    "rootcertbundle": str(bundle),
                    "autoredirect": False,
                }
            },
        )
    except Exception:
        issuer.stop()
        raise
    reg.creds = next(iter(users.items()))
    reg.token = issuer
    return reg


def start_basic_registry(workdir: Path, users: dict[str, str]) -> Registry | None:
    """A registry with htpasswd (Basic) auth; None where Python's crypt module (bcrypt hashes) is gone."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError:
            return None
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"{u}:{crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH))}" for u, pw in users.items()]
    (workdir / "htpasswd").write_text("\n".join(lines) + "\n")
    reg = start_registry(workdir, {"htpasswd": {"realm": "test", "path": str(workdir / "htpasswd")}})
    reg.creds = next(iter(users.items()))
    return reg


@contextlib.contextmanager
def registries() -> Iterator[tuple[Registry, Registry]]:
    """A plain registry and a token-auth one, in a temp dir removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mlops-gate-oci-") as tmp:
        plain = start_registry(Path(tmp) / "plain")
        try:
            token = start_token_registry(Path(tmp) / "token", {"ci": "s3cret-pass"})
        except Exception:
            plain.stop()
            raise
        try:
            yield plain, token
        finally:
            plain.stop()
            token.stop()
            if token.token is not None:
                token.token.stop()
