"""Clients for the REST API tests: token or session authenticated, with the user's permissions."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories

API = "/api/v1"


def token_client(*perms: str, user=None) -> APIClient:
    user = user or factories.UserFactory(perms=list(perms))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    client.user = user
    return client


def session_client(*perms: str, user=None, enforce_csrf_checks: bool = False) -> APIClient:
    user = user or factories.UserFactory(perms=list(perms))
    client = APIClient(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    client.user = user
    return client


def crud_perms(model_name: str) -> list[str]:
    return [f"erp.{action}_{model_name}" for action in ("view", "add", "change", "delete")]
