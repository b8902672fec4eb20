"""Production settings behind TLS: `check --deploy` is clean with the README's variables; every page has a CSP."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from tests import factories

# The README's production variables ("Running at scale").
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "erp.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://erp.example.com",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_HSTS_PRELOAD": "true",
    "DJANGO_SSL_REDIRECT": "true",
    "DJANGO_PROXY_SSL_HEADER": "X-Forwarded-Proto=https",
}


def manage(tmp_path, *args, **extra) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        **PRODUCTION,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "NAV_CRM_DATA_DIR": str(tmp_path),
        "PYTHONWARNINGS": "ignore",
        **extra,
    }
    # The browser tests' process allows async-unsafe calls (tests/e2e/conftest.py); a deployment does not.
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_with_the_documented_production_variables(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_them_check_deploy_names_what_is_missing(tmp_path):
    result = manage(tmp_path, "check", "--deploy", DJANGO_HSTS_SECONDS="0", DJANGO_SSL_REDIRECT="false")

    assert "security.W004" in result.stdout + result.stderr and "security.W008" in result.stdout + result.stderr


def test_a_malformed_proxy_header_is_a_clear_error(tmp_path):
    result = manage(tmp_path, "check", DJANGO_PROXY_SSL_HEADER="X-Forwarded-Proto")

    assert result.returncode != 0
    assert "DJANGO_PROXY_SSL_HEADER must be HEADER=VALUE" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/erp/customers/", "/api/v1/"])
def test_every_answer_carries_the_content_security_policy(client, path):
    client.force_login(factories.UserFactory(perms=["erp.view_customer"]))

    response = client.get(path)

    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_the_api_docs_keep_their_own_policy(client):
    client.force_login(factories.UserFactory())

    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert "worker-src 'self' blob:" in response["Content-Security-Policy"]
