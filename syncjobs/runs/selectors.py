"""Reads of the synchronization log."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from syncjobs.models import SyncJob


def finished_jobs_older_than(*, days: int) -> QuerySet[SyncJob]:
    cutoff = timezone.now() - datetime.timedelta(days=days)
    return SyncJob.objects.filter(status__in=SyncJob.FINISHED, created_at__lt=cutoff)
