"""The lease both kinds of background work hold while a worker carries them, a synchronization job and a full
synchronization: claimed by a conditional UPDATE (a task delivered twice runs once), kept alive by a heartbeat,
handed to another worker by the reaper (tasks.reap_stale_jobs) when the heartbeat stops for STALE_AFTER."""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
from typing import Self

from django.db import DatabaseError, connections, models
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

logger = logging.getLogger(__name__)

RUNNING = "running"  # the status both SyncJob and FullSyncRun have while a worker carries them
# A running job beats its heart every HEARTBEAT_SECONDS (Heartbeat) and once per page of records; a lease whose
# heart stopped for STALE_AFTER is handed on.
HEARTBEAT_SECONDS = 10.0
STALE_AFTER = datetime.timedelta(seconds=45)


class LeaseLost(Exception):
    """Another worker took the work over (this one looked dead): stop without writing its outcome."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def stale_cutoff(now: datetime.datetime) -> datetime.datetime:
    return now - STALE_AFTER


def lease_claim(claimable: models.QuerySet[models.Model], **fields: object) -> bool:
    """Take the rows ``claimable`` still selects for this worker: RUNNING, started (once), heartbeat now. One
    conditional UPDATE, so two workers never both succeed; ``fields``: more columns set with it."""
    now = timezone.now()
    return bool(
        claimable.update(
            status=RUNNING, started_at=Coalesce(F("started_at"), now), heartbeat_at=now, worker=worker_name(), **fields
        )
    )


def lease_beat(model: type[models.Model], pk: int, *, worker: str | None = None) -> bool:
    """Beat the heart of a running row (held by ``worker``, when given); False when it is not (any more)."""
    held = model._default_manager.filter(pk=pk, status=RUNNING)
    if worker is not None:
        held = held.filter(worker=worker)
    return bool(held.update(heartbeat_at=timezone.now()))


class Heartbeat:
    """Beats the row's heart every ``interval`` seconds while its work runs, from a thread of its own: a page that
    takes long (a slow CRM, a large query) does not make live work look dead, and a killed worker's work stops
    beating at once, so the reaper hands it on within STALE_AFTER plus its interval."""

    def __init__(self, model: type[models.Model], pk: int, interval: float | None = None):
        self.model, self.pk = model, pk
        self.interval = HEARTBEAT_SECONDS if interval is None else interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{model._meta.model_name}-{pk}", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    lease_beat(self.model, self.pk)
                except DatabaseError:  # a busy database: the next beat tries again
                    logger.warning("Heartbeat of %s %s missed", self.model._meta.verbose_name, self.pk, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connection
