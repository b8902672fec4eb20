"""Enabling needs every check to pass; disabling always works."""

import pytest
from django.core.exceptions import ValidationError

from syncjobs.connection import selectors as connection_selectors
from syncjobs.connection import services
from syncjobs.models import CrmConnection
from tests.syncjobs.crm_support import local_currency, save_connection

pytestmark = pytest.mark.django_db


def test_enable_is_refused_while_a_check_fails_and_names_it(crm_sandbox):
    connection = save_connection(crm_sandbox, client_secret="wrong")
    with pytest.raises(ValidationError) as caught:
        services.connection_enable(connection=connection)
    assert "only when every check passes" in caught.value.messages[0]
    assert "Access token obtained from the authority" in caught.value.messages[0]
    connection.refresh_from_db()
    assert connection.is_enabled is False
    assert connection.last_test_passed is False
    assert not connection_selectors.crm_connection_is_enabled()


def test_enable_is_refused_when_only_the_crm_lacks_the_local_currency(ready_sandbox):
    local_currency("XTS")
    connection = save_connection(ready_sandbox)
    with pytest.raises(ValidationError, match="local currency"):
        services.connection_enable(connection=connection)
    assert not connection_selectors.crm_connection_is_enabled()


def test_enable_before_anything_was_saved_is_refused():
    with pytest.raises(ValidationError, match="Set up and save the connection first"):
        services.connection_enable(connection=connection_selectors.crm_connection_get())
    assert not CrmConnection.objects.exists()


def test_enable_when_every_check_passes_then_disable(ready_sandbox):
    local_currency("USD")
    connection = save_connection(ready_sandbox)
    results = services.connection_enable(connection=connection)
    assert all(result.passed for result in results)
    assert connection_selectors.crm_connection_is_enabled()
    services.connection_disable(connection=connection_selectors.crm_connection_get())
    assert not connection_selectors.crm_connection_is_enabled()
