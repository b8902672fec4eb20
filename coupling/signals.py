"""Deleting a coupled ERP record marks its coupling, so that deletions are found in proportion to them.

Any model with a ``system_id`` can be coupled; the receiver is connected for every sender and costs
one indexed UPDATE per deleted record that has such an id. Records deleted behind Django's back are
still found by a full synchronization, which checks every coupling.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from coupling.models import Coupling


@receiver(post_delete, dispatch_uid="coupling_mark_erp_record_deleted")
def mark_erp_record_deleted(sender, instance, using, **kwargs):
    system_id = getattr(instance, "system_id", None)
    if system_id is None or sender is Coupling or sender._meta.app_label in {"coupling", "contenttypes"}:
        return
    Coupling.objects.using(using).filter(
        erp_model=ContentType.objects.db_manager(using).get_for_model(sender), erp_system_id=system_id
    ).update(erp_deleted_at=timezone.now())
