"""Helpers shared by the page tests (tests/erp/test_pages*.py)."""

from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import UserFactory


def erp_permissions(*, excluding: str | None = None) -> list[Permission]:
    permissions = Permission.objects.filter(content_type__app_label="erp")
    if excluding:
        permissions = permissions.exclude(codename=excluding.split(".", 1)[1])
    return list(permissions)


def client_with(*perms: str, client: Client | None = None) -> Client:
    """A client logged in as a new user holding exactly ``perms``."""
    client = client or Client()
    client.force_login(UserFactory(perms=list(perms)))
    return client


def client_with_all_but(permission: str) -> Client:
    """A client logged in as a user with every ERP permission except ``permission``."""
    user = UserFactory()
    user.user_permissions.set(erp_permissions(excluding=permission))
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def row_texts(response) -> list[str]:
    """The first text column (number/code) of each row of a list page's table."""
    table = response.context["table"]
    return [str(row.record) for row in table.paginated_rows]
