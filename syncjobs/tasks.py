"""django-q2 tasks: they carry a job's primary key to the jobs module and nothing else."""

from syncjobs import jobs


def run_sync_job(job_id: int) -> str:
    """Run one synchronization job; a second delivery of the same task does nothing."""
    return jobs.job_run(job_id=job_id).status


def reap_stale_jobs() -> str:
    """Scheduled every few minutes: hand jobs whose worker died to another worker, or give them up."""
    requeued, failed = jobs.job_reap_stale()
    return f"re-queued {len(requeued)}, failed {len(failed)}"


def run_sync_jobs_in_order(job_ids: list[int]) -> list[str]:
    """Run several jobs one after the other, in the order given (the mappings' dependency order)."""
    return [jobs.job_run(job_id=job_id).status for job_id in job_ids]
