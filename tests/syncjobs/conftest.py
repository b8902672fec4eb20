import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from crm_sandbox.testing import start_sandbox
from tests.queue_support import purge_queue
from tests.syncjobs.crm_support import prepare_integration


@pytest.fixture(autouse=True)
def empty_job_queue():
    purge_queue()


@pytest.fixture(scope="session")
def ready_sandbox(tmp_path_factory):
    """A private sandbox in the state a finished setup leaves (roles assigned, solution installed).

    Tests must not change its roles or solution: they use crm_sandbox_factory() for that.
    """
    sandbox = start_sandbox(Path(tmp_path_factory.mktemp("crm_sandbox_ready")))
    prepare_integration(sandbox)
    yield sandbox
    sandbox.stop()


def _self_signed(common_name: str, *, rsa_key: bool = True) -> tuple[str, str]:
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"), key_pem


@pytest.fixture
def certificate_pair() -> tuple[str, str]:
    """An app registration's certificate and its private key (PEM)."""
    return _self_signed("nav_crm integration")


@pytest.fixture
def other_certificate_pair() -> tuple[str, str]:
    return _self_signed("someone else")


@pytest.fixture
def ec_certificate_pair() -> tuple[str, str]:
    return _self_signed("elliptic", rsa_key=False)


@pytest.fixture(autouse=True)
def private_data_directory(settings, tmp_path):
    """Generated encryption keys and CA bundle files go to the test's own directory, not var/."""
    settings.DATA_DIR = tmp_path
