"""What a job's handler is handed to report through, and the refusal it may raise.

The runner (runs.jobs) calls ``handler(job=job, report=JobReport(job))``; the engine and the order integration
write their progress, checkpoints, error and warning rows through ``report`` and import nothing of the job
lifecycle, so the lifecycle module depends on no handler and no handler on it (no import cycle).
"""

from __future__ import annotations

from typing import Any, Protocol


class JobCannotRun(Exception):
    """The job has nothing to run with (no handler, no mapping, no match criteria): its message is for the user
    as is."""


class Report(Protocol):
    def progress(
        self, *, done: int | None = None, total: int | None = None, http_requests: int | None = None, **counters: int
    ) -> None:
        """Add to the job's counters (increments) and set records done / total; beats its heart."""

    def counts_by_direction(self, by_direction: dict[str, dict[str, int]]) -> None:
        """What a job both ways counted per direction, written whole (only this job's worker writes it)."""

    def checkpoint(self, position: dict[str, Any]) -> None:
        """Where the job stands, for a worker that takes it over."""

    def record_error(self, **details: Any) -> Any:
        """One error row for a failed record (see runs.jobs.job_record_error for the details it takes)."""

    def record_warning(self, **details: Any) -> Any:
        """One warning row for one record and field (see runs.jobs.job_record_warning)."""

    def note(self, message: str) -> None:
        """The job's message (warnings, what happens next)."""
