"""Celery tasks: thin wrappers taking ids. The job row is the truth (see workers.leases).

- ``workers.run_job(job_id)``: claim and run one job; a duplicate delivery does nothing.
- ``workers.reap_jobs()``: requeue jobs whose worker stopped renewing its lease (beat).
- ``workers.scheduled_round(project_id)``: a project's retraining schedule (beat).
- ``workers.queue_upkeep()``: lapsed reservations out, the queue's tables vacuumed (beat).
"""

from __future__ import annotations

import logging
import os

from workers.celery import UPKEEP_TASK, app

logger = logging.getLogger("quarry.workers")

# Pretraining on a large pool can take hours; the soft limit leaves time to record it.
# Read from the worker's environment when it starts (prefork pools enforce them).
SOFT_TIME_LIMIT = int(os.environ.get("QUARRY_JOB_SOFT_TIME_LIMIT", 12 * 3600))
TIME_LIMIT = int(os.environ.get("QUARRY_JOB_TIME_LIMIT", SOFT_TIME_LIMIT + 300))


@app.task(
    name="workers.run_job",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
    ignore_result=True,
)
def run_job(job_id: int) -> str:
    from workers.runner import run_job as run

    return run(int(job_id))


@app.task(name="workers.reap_jobs", ignore_result=True)
def reap_jobs() -> dict:
    from workers.leases import jobs_reap

    return jobs_reap()


@app.task(name=UPKEEP_TASK, ignore_result=True)
def queue_upkeep() -> dict:
    from labeling.services.queue import queue_upkeep

    return queue_upkeep()


@app.task(name="workers.scheduled_round", ignore_result=True)
def scheduled_round(project_id: int) -> int | None:
    from labeling.services.loop import round_scheduled

    job = round_scheduled(project_id=int(project_id))
    return job.pk if job else None
