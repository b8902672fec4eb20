"""django-q2 tasks: they carry a job's (or a full synchronization's) primary key to the code that runs it."""

from syncjobs.runs import full_sync, jobs, scheduling


def run_sync_job(job_id: int) -> str:
    """Run one synchronization job; a second delivery of the same task does nothing."""
    return jobs.job_run(job_id=job_id).status


def reap_stale_jobs() -> str:
    """Scheduled every few minutes: hand jobs (and full synchronizations) whose worker died to another worker."""
    requeued, failed = jobs.job_reap_stale()
    resumed = full_sync.full_sync_resume_abandoned()
    summary = f"re-queued {len(requeued)}, failed {len(failed)}"
    return summary + (f", full synchronizations handed on {len(resumed)}" if resumed else "")


def run_sync_jobs_in_order(job_ids: list[int]) -> list[str]:
    """Run several jobs one after the other, in the order given (the mappings' dependency order)."""
    return [jobs.job_run(job_id=job_id).status for job_id in job_ids]


def run_full_synchronization(run_id: int) -> str:
    """Carry a full synchronization through its mappings; a second delivery of a claimed run does nothing."""
    return full_sync.full_sync_run(run_id=run_id).status


def dispatch_scheduled_synchronizations() -> str:
    """Scheduled every minute: queue the incremental run of every mapping that is due."""
    created = scheduling.scheduled_sync_dispatch()
    return f"queued {len(created)}: {', '.join(job.mapping_name for job in created)}" if created else "none due"
