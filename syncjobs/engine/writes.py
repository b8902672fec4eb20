"""Writing a page of records to the CRM: bulk first, failures isolated.

Creates go out as one UpsertMultiple whose targets carry the ids recorded on the couplings
before sending (a repeat after a crash upserts the same rows); updates as one UpdateMultiple (an
update must not bring back a row someone deleted). When a bulk request fails, the page is
replayed as one ``$batch`` with continue-on-error, so that one bad record costs one error row.
Failures of the service itself (transport, throttling beyond the retries, authentication)
stop the job: rerunning it is safe.

With ``job.parameters["one_request_per_record"]`` each record goes out as its own request, as the
shipped product does: only the benchmark's baseline (bench/sync_throughput.py) asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

import dataverse
from coupling.models import Coupling
from erp.models import SyncedModel
from syncjobs.engine import outcomes
from syncjobs.engine.context import RunContext
from syncjobs.engine.describe import field_label

# Errors that say nothing about one record: the job stops and is rerun, nothing is lost.
SERVICE_ERRORS = (
    dataverse.TransportError,
    dataverse.Throttled,
    dataverse.ServiceUnavailable,
    dataverse.Unauthorized,
    dataverse.Forbidden,
)


@dataclass
class PendingWrite:
    record: SyncedModel | None
    coupling: Coupling
    body: dict[str, Any]
    snapshot: dict[str, Any]
    create: bool


@dataclass
class WritePlan:
    ctx: RunContext
    # Called with the pending write when the CRM row to update no longer exists.
    on_row_missing: Callable[[PendingWrite], None]
    writes: list[PendingWrite] = field(default_factory=list)

    def add(self, write: PendingWrite) -> None:
        self.writes.append(write)

    def send(self) -> list[Coupling]:
        """Send everything; returns the couplings written successfully (their success state is set)."""
        return self.dispatch(None).collect()

    def dispatch(self, executor: Executor | None) -> Dispatched:
        """Start sending the page's writes and hand back what to collect.

        With an executor the bulk requests go out on a worker thread while the caller prepares the
        next page (Microsoft's advice: keep requests in flight in parallel); only the HTTP call
        leaves this thread: database writes, counters and failure replays happen in ``collect``.
        The couplings of creates are committed before this is called, so a crash with a request
        in flight is repeated safely.
        """
        creates = [w for w in self.writes if w.create]
        updates = [w for w in self.writes if not w.create]
        self.writes = []
        if self.ctx.one_request_per_record or executor is None:
            succeeded: list[Coupling] = []
            if creates:
                succeeded += self._send_bulk(creates, create=True)
            if updates:
                succeeded += self._send_bulk(updates, create=False)
            return Dispatched(self, [], succeeded)
        parts = [
            (writes, create, executor.submit(self._bulk_request, writes, create=create))
            for writes, create in ((creates, True), (updates, False))
            if writes
        ]
        return Dispatched(self, parts, [])

    def _bulk_request(self, writes: list[PendingWrite], *, create: bool) -> None:
        ctx = self.ctx
        targets = [self._target(write) for write in writes]
        if create:
            ctx.client.upsert_multiple(ctx.mapping.crm_entity_set, targets, logical_name=ctx.mapping.crm_entity)
        else:
            ctx.client.update_multiple(ctx.mapping.crm_entity_set, targets, logical_name=ctx.mapping.crm_entity)

    def _bulk_outcome(self, writes: list[PendingWrite], *, create: bool, request: Future) -> list[Coupling]:
        try:
            request.result()
        except SERVICE_ERRORS:
            raise
        except dataverse.DataverseError:
            return self._replay(writes, create=create)
        return [self._succeed(write) for write in writes]

    def _target(self, write: PendingWrite) -> dict[str, Any]:
        return {**write.body, self.ctx.primary_key: str(write.coupling.crm_id)}

    def _send_bulk(self, writes: list[PendingWrite], *, create: bool) -> list[Coupling]:
        if self.ctx.one_request_per_record:
            return self._send_one_by_one(writes, create=create)
        try:
            self._bulk_request(writes, create=create)
        except SERVICE_ERRORS:
            raise
        except dataverse.DataverseError:
            return self._replay(writes, create=create)
        return [self._succeed(write) for write in writes]

    def _send_one_by_one(self, writes: list[PendingWrite], *, create: bool) -> list[Coupling]:
        ctx = self.ctx
        entity_set = ctx.mapping.crm_entity_set
        succeeded = []
        for write in writes:
            try:
                if create:
                    ctx.client.upsert(entity_set, write.coupling.crm_id, write.body)
                else:
                    ctx.client.update(entity_set, write.coupling.crm_id, write.body)
            except SERVICE_ERRORS:
                raise
            except dataverse.NotFound:
                if create:
                    raise
                self.on_row_missing(write)
                continue
            except dataverse.DataverseError as error:
                outcomes.record_failure(
                    ctx,
                    message=refused_message(ctx, error),
                    details=str(error),
                    record=write.record,
                    coupling=write.coupling,
                )
                continue
            succeeded.append(self._succeed(write))
        return succeeded

    def _replay(self, writes: list[PendingWrite], *, create: bool) -> list[Coupling]:
        ctx = self.ctx
        entity_set = ctx.mapping.crm_entity_set
        operations = [
            dataverse.Op.upsert(entity_set, write.coupling.crm_id, write.body)
            if create
            else dataverse.Op.update(entity_set, write.coupling.crm_id, write.body)
            for write in writes
        ]
        results = ctx.client.batch(operations, continue_on_error=True)
        succeeded = []
        for write, result in zip(writes, results, strict=True):
            if result.ok:
                succeeded.append(self._succeed(write))
            elif result.status == 404 and not create:
                self.on_row_missing(write)
            else:
                error = result.error
                assert error is not None, "a result that is not ok carries its error"
                outcomes.record_failure(
                    ctx,
                    message=refused_message(ctx, error),
                    details=str(error),
                    record=write.record,
                    coupling=write.coupling,
                )
        return succeeded

    def _succeed(self, write: PendingWrite) -> Coupling:
        outcomes.mark_success(self.ctx, write.coupling, snapshot=write.snapshot, record=write.record, crm_written=True)
        self.ctx.count("inserted" if write.create else "modified")
        return write.coupling


def refused_message(ctx: RunContext, error: dataverse.DataverseError) -> str:
    """Dynamics 365's refusal of a record in its own words, then the fields it names ('creditlimit') as the
    record's page names them: the field to correct there before a retry."""
    text = error.message.strip()
    if text and not text.endswith((".", "!", "?")):
        text += "."
    message = f"Dynamics 365 refused the {ctx.mapping.crm_entity}: {text}"
    labels = dict.fromkeys(
        field_label(ctx.erp_model, f)
        for f in ctx.to_crm_fields
        if f.crm_attribute and f.erp_field and f"'{f.crm_attribute}'" in text
    )
    if not labels:
        return message
    return f"{message} On the {ctx.erp_model._meta.verbose_name}'s page: {', '.join(labels)}."


@dataclass
class Dispatched:
    """A page's writes on their way: ``collect`` waits for them and settles each record's outcome."""

    plan: WritePlan
    parts: list[tuple[list[PendingWrite], bool, Future]]
    succeeded: list[Coupling]

    def collect(self) -> list[Coupling]:
        succeeded = list(self.succeeded)
        for writes, create, request in self.parts:
            succeeded += self.plan._bulk_outcome(writes, create=create, request=request)
        return succeeded
