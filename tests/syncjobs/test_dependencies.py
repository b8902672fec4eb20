"""Dependencies (issue 13 §2): the local currency coupled on enabling, a missing parent's error linking to its
couple page with "Couple by match and retry", and the couple page listing every uncoupled parent up front."""

import pytest

from syncjobs import services
from tests.syncjobs import engine_support as support
from tests.syncjobs.crm_support import local_currency, save_connection

pytestmark = pytest.mark.django_db


def test_enabling_the_connection_couples_the_local_currency_to_the_crm_currency_of_its_code(ready_sandbox):
    currency = local_currency("USD")
    assert support.coupling_of(currency) is None

    services.connection_enable(connection=save_connection(ready_sandbox))

    coupling = support.coupling_of(currency)
    assert coupling is not None
    assert (coupling.crm_entity, str(coupling.crm_id)) == (
        "transactioncurrency",
        support.crm_currency_id(ready_sandbox, "USD"),
    )


def test_enabling_again_keeps_the_local_currency_coupling(ready_sandbox):
    currency = local_currency("USD")
    connection = save_connection(ready_sandbox)
    services.connection_enable(connection=connection)
    first = support.coupling_of(currency)
    services.connection_disable(connection=connection)

    services.connection_enable(connection=connection)

    assert support.coupling_of(currency).pk == first.pk
