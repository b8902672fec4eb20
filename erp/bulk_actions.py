"""Bulk actions of the ERP's list pages, declared once and used by the list views.

Each action calls one service per selected record (``per_record``): a refused record is
reported by name with the service's reason, the others go through.
"""

from erp import services
from erp.models import Customer, SalesHeader
from nav_crm.ui import BulkAction, per_record
from nav_crm.ui.views import permission_name


def _delete(record) -> None:
    services.record_delete(instance=record)


def delete_selected(model) -> BulkAction:
    return BulkAction(
        name="delete",
        label="Delete selected",
        permission=permission_name(model, "delete"),
        handler=per_record(_delete),
        done_verb="deleted",
        confirm="Delete these records? Records still in use are kept and listed with what uses them.",
        style="outline-danger",
        icon="trash",
    )


def _blocking(value):
    def set_blocked(record) -> None:
        record.blocked = value
        services.record_save(instance=record)

    return set_blocked


def block_selected(model, *, blocked_value=True) -> BulkAction:
    return BulkAction(
        name="block",
        label="Block selected",
        permission=permission_name(model, "change"),
        handler=per_record(_blocking(blocked_value)),
        done_verb="blocked",
        icon="slash-circle",
    )


def unblock_selected(model, *, unblocked_value=False) -> BulkAction:
    return BulkAction(
        name="unblock",
        label="Unblock selected",
        permission=permission_name(model, "change"),
        handler=per_record(_blocking(unblocked_value)),
        done_verb="unblocked",
        icon="check-circle",
    )


CUSTOMER_BLOCK = block_selected(Customer, blocked_value=Customer.Blocked.ALL)
CUSTOMER_UNBLOCK = unblock_selected(Customer, unblocked_value=Customer.Blocked.NONE)

SALES_ORDER_RELEASE = BulkAction(
    name="release",
    label="Release selected",
    permission=permission_name(SalesHeader, "change"),
    handler=per_record(lambda order: services.sales_order_release(order=order)),
    done_verb="released",
    icon="unlock",
)
SALES_ORDER_REOPEN = BulkAction(
    name="reopen",
    label="Reopen selected",
    permission=permission_name(SalesHeader, "change"),
    handler=per_record(lambda order: services.sales_order_reopen(order=order)),
    done_verb="reopened",
    icon="arrow-counterclockwise",
)
