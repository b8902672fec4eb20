"""Running the sandbox: its TLS material, its WSGI application and the HTTPS server.

The CA and the server certificate are generated on first use and kept in the data directory,
so clients trust the sandbox by pointing at ``ca.pem`` (``REQUESTS_CA_BUNDLE`` or ``verify=``).
"""

from __future__ import annotations

import datetime as dt
import errno
import ipaddress
import json
import logging
import random
import secrets
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

from crm_sandbox import runtime

logger = logging.getLogger(__name__)

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"
CREDENTIALS_FILE = "credentials.json"
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")

SANDBOX_MIDDLEWARE = ["whitenoise.middleware.WhiteNoiseMiddleware"]


def data_dir() -> Path:
    path = Path(settings.CRM_SANDBOX_DATA_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_private(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    path.chmod(0o600)


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_certificates(directory: Path | None = None) -> tuple[Path, Path, Path]:
    """Returns (ca.pem, server.pem, server-key.pem), creating a CA and a loopback certificate once."""
    directory = directory or data_dir()
    ca_path, cert_path, key_path = directory / CA_FILE, directory / CERT_FILE, directory / KEY_FILE
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        return ca_path, cert_path, key_path
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"nav_crm CRM sandbox CA {secrets.token_hex(4)}")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    alt_names = [x509.DNSName("localhost"), *(x509.IPAddress(ipaddress.ip_address(a)) for a in SERVER_NAMES[1:])]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(directory / CA_KEY_FILE, _pem_key(ca_key))
    _write_private(key_path, _pem_key(server_key))
    cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return ca_path, cert_path, key_path


def credentials_path() -> Path:
    return data_dir() / CREDENTIALS_FILE


def load_credentials() -> dict:
    path = credentials_path()
    return json.loads(path.read_text()) if path.exists() else {}


def save_credentials(credentials: dict) -> None:
    _write_private(credentials_path(), json.dumps(credentials, indent=2).encode())


def wsgi_application():
    """Django's WSGI handler with the sandbox's URLconf and none of the ERP's middleware."""
    settings.ROOT_URLCONF = "crm_sandbox.urls"
    settings.MIDDLEWARE = SANDBOX_MIDDLEWARE
    settings.ALLOWED_HOSTS = ["*"]
    # Bulk writes carry large bodies; Dataverse accepts requests up to 128 MB.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 128 * 1024 * 1024
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = None
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()


class SimulatedConditions:
    """WSGI middleware for --latency-ms and --fault-rate (read from ``runtime.options`` at each request).

    A fault is either a 503 before processing or, after processing, a connection dropped
    before the answer (the write happened; only the answer is lost), so clients must retry
    idempotently.
    """

    def __init__(self, app, *, rng: random.Random | None = None):
        self.app = app
        self.rng = rng or random.Random()  # noqa: S311 — fault injection, not security

    def __call__(self, environ, start_response):
        conditions = runtime.options
        if conditions.latency_ms:
            time.sleep(conditions.latency_ms / 1000)
        api = environ.get("PATH_INFO", "").startswith("/api/")
        planned = api and runtime.take_planned_drop()
        faulty = planned or (api and self.rng.random() < conditions.fault_rate)
        if not faulty:
            return self.app(environ, start_response)
        if not planned and self.rng.random() < 0.5:
            body = json.dumps(
                {
                    "error": {
                        "code": "0x80040216",
                        "message": "The service is temporarily unavailable (simulated fault).",
                    }
                }
            ).encode()
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Retry-After", "1")],
            )
            return [body]
        result = self.app(environ, lambda status, headers, exc_info=None: lambda data: None)
        try:
            for _chunk in result:
                pass
        finally:
            if hasattr(result, "close"):
                result.close()
        # cheroot closes the connection without an answer on a connection-reset error.
        raise ConnectionResetError(errno.ECONNRESET, "simulated dropped connection")


def serve(
    *,
    host: str,
    port: int,
    options: runtime.ServerOptions,
    threads: int = 32,
    on_ready=None,
    test_control: bool = False,
) -> None:
    """``test_control``: answer the snapshot calls of ``crm_sandbox.snapshots`` (test suites only)."""
    from cheroot import wsgi
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    runtime.configure(options)
    from crm_sandbox import customizations, option_sets, snapshots

    app = SimulatedConditions(wsgi_application())
    if test_control:
        app = snapshots.SnapshotControl(app, data_dir=data_dir())
        app.capture_registry()
    customizations.load_installed()
    option_sets.load_stored()
    _ca, cert, key = ensure_certificates()
    server = wsgi.Server((host, port), app, numthreads=threads, server_name="crm-sandbox", timeout=60)
    server.ssl_adapter = BuiltinSSLAdapter(str(cert), str(key))
    logging.getLogger("cheroot").setLevel(logging.CRITICAL)
    server.prepare()
    if on_ready is not None:
        on_ready()
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
