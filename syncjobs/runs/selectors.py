"""Reads of the synchronization log."""

import datetime
from dataclasses import dataclass

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from coupling.selectors import records_for_crm_ids
from nav_crm.records import plural
from syncjobs.engine.context import CRM_ENTITY_NOUNS
from syncjobs.models import SyncJob


def finished_jobs_older_than(*, days: int) -> QuerySet[SyncJob]:
    cutoff = timezone.now() - datetime.timedelta(days=days)
    return SyncJob.objects.filter(status__in=SyncJob.FINISHED, created_at__lt=cutoff)


# A job's page names this many of the records it was given, then says how many more.
CHOSEN_RECORDS_NAMED = 5


@dataclass(frozen=True)
class ChosenRecords:
    """What a job was given to work on instead of its whole mapping, in the user's words."""

    count: int
    noun: str
    records: list[models.Model]

    @property
    def more(self) -> int:
        return self.count - len(self.records)


def job_chosen_records(*, job: SyncJob) -> ChosenRecords | None:
    """The ERP records (or Dynamics 365 rows) a job was started for ("Synchronize now", a retry), the first ones
    by name; None when it works on its whole mapping."""
    parameters = job.parameters or {}
    model = job.mapping.erp_model.model_class() if job.mapping is not None else None
    if parameters.get("erp_system_ids") is not None:
        system_ids = parameters["erp_system_ids"]
        if model is None:
            return ChosenRecords(len(system_ids), "ERP records", [])
        records = list(model._default_manager.filter(system_id__in=system_ids[:CHOSEN_RECORDS_NAMED]))
        noun = model._meta.verbose_name if len(system_ids) == 1 else model._meta.verbose_name_plural
        return ChosenRecords(len(system_ids), str(noun), records)
    if parameters.get("crm_ids") is not None:
        crm_ids = parameters["crm_ids"]
        entity = job.mapping.crm_entity if job.mapping is not None else ""
        noun = CRM_ENTITY_NOUNS.get(entity, "row")
        records = []
        if model is not None:
            coupled = records_for_crm_ids(model=model, crm_ids=crm_ids[:CHOSEN_RECORDS_NAMED])
            records = list(coupled.values())
        return ChosenRecords(len(crm_ids), f"Dynamics 365 {noun if len(crm_ids) == 1 else plural(noun)}", records)
    return None
