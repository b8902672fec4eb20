"""Deleting a coupled ERP record marks its coupling, so that deletions are found in proportion to them.

Any model with a ``system_id`` can be coupled; the receiver is connected for every sender and costs
one indexed UPDATE per deleted record that has such an id. Records deleted behind Django's back are
still found by a full synchronization, which checks every coupling.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_delete
from django.dispatch import receiver

from coupling import services as coupling_services
from coupling.models import Coupling


@receiver(post_delete, dispatch_uid="coupling_mark_erp_record_deleted")
def mark_erp_record_deleted(sender, instance, using, **kwargs):
    """Mark the coupling, with the record's label ("customer C00010 Adatum"): gone, it cannot be named later."""
    system_id = getattr(instance, "system_id", None)
    if system_id is None or sender is Coupling or sender._meta.app_label in {"coupling", "contenttypes"}:
        return
    couplings = Coupling.objects.using(using).filter(
        erp_model=ContentType.objects.db_manager(using).get_for_model(sender), erp_system_id=system_id
    )
    coupling_services.couplings_mark_erp_deleted(couplings=couplings, label=lambda: deleted_record_label(instance))


def deleted_record_label(instance) -> str:
    try:
        return f"{instance._meta.verbose_name} {instance}"[:200]
    except Exception:  # noqa: BLE001 — a label reading a record deleted with it: the errors name the id instead
        return ""
