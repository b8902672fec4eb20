"""On enabling the connection, the ERP's local currency (LCY) is coupled to the CRM currency with the same ISO
code (the connection test has checked that it exists): records in the LCY then synchronize from the start."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.dispatch import receiver

import dataverse
from coupling import selectors as coupling_selectors
from coupling import services as coupling_services
from coupling.dependencies import parent_mapping
from erp import selectors as erp_selectors
from syncjobs import signals
from syncjobs.connection import clients
from syncjobs.models import (
    CrmConnection,
)

LOCAL_CURRENCY_ENTITY = "transactioncurrency"

logger = logging.getLogger(__name__)


def local_currency_couple(*, client: dataverse.Client) -> bool:
    """Couple the ERP's local currency to the CRM currency with its ISO code when it is not coupled yet; True
    when it coupled it. Nothing happens when either side is coupled to something else already."""
    local = erp_selectors.general_setup().local_currency
    if local is None or coupling_selectors.coupling_for_record(record=local) is not None:
        return False
    mapping = parent_mapping(local)
    crm_entity = mapping.crm_entity if mapping is not None else LOCAL_CURRENCY_ENTITY
    rows = list(
        client.query(
            "transactioncurrencies",
            select=["transactioncurrencyid"],
            filter=dataverse.F.eq("isocurrencycode", local.code),
            top=1,
        )
    )
    if not rows:
        return False
    try:
        coupling_services.coupling_create(record=local, crm_entity=crm_entity, crm_id=rows[0]["transactioncurrencyid"])
    except ValidationError as refusal:
        logger.warning("The local currency %s was not coupled: %s", local.code, " ".join(refusal.messages))
        return False
    logger.info("The local currency %s coupled to the CRM currency %s", local.code, rows[0]["transactioncurrencyid"])
    return True


@receiver(signals.connection_enabling, dispatch_uid="syncjobs_local_currency_couple")
def _connection_enabling(sender, connection: CrmConnection, **kwargs) -> None:
    try:
        with clients.crm_client(connection=connection) as client:
            local_currency_couple(client=client)
    except dataverse.DataverseError:
        # Not a reason to keep the connection disabled: a record in the LCY then fails naming it, with its link.
        logger.warning("The local currency could not be coupled on enabling the connection", exc_info=True)
