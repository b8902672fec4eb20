import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.queue_support import purge_queue


@pytest.fixture(autouse=True)
def empty_job_queue():
    purge_queue()


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
