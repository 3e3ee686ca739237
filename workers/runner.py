"""Running one job: claim its lease, run its steps, record the outcome.

``run_job`` is what the Celery task calls; tests and ``al_round --here`` call it directly.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

import numpy as np

from labeling.models import Job
from workers import config
from workers.context import JobCancelled, JobError, LeaseLost, StepContext
from workers.leases import Lease, job_claim, job_finish, job_release_for_retry, worker_identity

logger = logging.getLogger("quarry.workers")


def jsonable(value: Any) -> Any:
    """Numpy scalars and arrays inside a result, as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def summary(result: dict) -> str:
    """One line for the job's final message, from what its steps recorded."""
    parts = []
    if "pretrain" in result:
        pretrained = result["pretrain"]
        parts.append(f"encoder {pretrained['encoder']} ({pretrained['epochs']} epochs)")
    if result.get("embed", {}).get("new"):
        parts.append(f"embedded {result['embed']['new']} samples")
    if "train" in result:
        train = result["train"]
        accuracy = train.get("accuracy")
        measured = (
            f"accuracy {accuracy:.3f} ({train['source']})" if accuracy is not None else "trained"
        )
        parts.append(f"model {train['model_version']}: {measured} with {train['n_labels']} labels")
    if "select" in result:
        parts.append(f"queued {result['select']['added']} ({result['select']['strategy']})")
    if "heatmaps" in result:
        parts.append(f"{result['heatmaps']['written']} heat maps")
    if "simulation" in result:
        parts.append(f"simulation {result['simulation']} stored")
    if "import" in result:
        parts.append(f"imported {result['import'].get('imported', 0)} images")
    notes = result.get("notes") or []
    if notes and not ("train" in result and "select" in result):
        parts.append(notes[-1])
    return "; ".join(parts) or "done"


def _skip_reason(job_id: int) -> str:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return "it does not exist"
    if job.state == Job.State.RUNNING:
        return f"{job.lease_owner} holds its lease until {job.lease_expires_at:%H:%M:%S}"
    if job.state == Job.State.QUEUED and job.attempts >= job.max_attempts:
        return f"it used all {job.max_attempts} attempts"
    if job.state == Job.State.QUEUED and job.cancel_requested:
        return "it was cancelled"
    return f"it is {job.state}"


def _soft_time_limit() -> type[BaseException]:
    from celery.exceptions import SoftTimeLimitExceeded

    return SoftTimeLimitExceeded


def run_job(job_id: int, *, heartbeat_thread: bool = True) -> str:
    """Run the job if its lease can be claimed; returns what happened:
    ``succeeded``, ``failed``, ``cancelled``, ``retrying``, ``skipped`` or ``lost``."""
    owner = worker_identity()
    if not job_claim(job_id=job_id, owner=owner):
        reason = _skip_reason(job_id)
        logger.info("job %s: this delivery does nothing: %s", job_id, reason)
        if "attempts" in reason:
            Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
                state=Job.State.FAILED, error=f"gave up: {reason}"
            )
        return "skipped"
    job = Job.objects.select_related("project").get(pk=job_id)
    logger.info("job %s (%s, attempt %s) started by %s", job.pk, job.kind, job.attempts, owner)
    ctx = StepContext(job=job)
    started = time.perf_counter()
    try:
        with Lease(job.pk, owner, thread=heartbeat_thread) as lease:
            ctx.lease = lease
            from workers.steps import run_plan

            run_plan(ctx)
            ctx.check()
    except LeaseLost:
        logger.warning("job %s: lease lost; this attempt stops without writing", job.pk)
        return "lost"
    except JobCancelled:
        job_finish(
            job_id=job.pk,
            owner=owner,
            state=Job.State.CANCELLED,
            message="cancelled",
            result=jsonable(ctx.result),
        )
        return "cancelled"
    except JobError as exc:
        logger.warning("job %s failed: %s", job.pk, exc)
        job_finish(
            job_id=job.pk,
            owner=owner,
            state=Job.State.FAILED,
            error=str(exc),
            message=str(exc)[:500],
            result=jsonable(ctx.result),
        )
        return "failed"
    except _soft_time_limit() as exc:
        text = f"the job ran past its time limit ({exc}); it can be resumed by running it again"
        job_finish(
            job_id=job.pk,
            owner=owner,
            state=Job.State.FAILED,
            error=text,
            message=text[:500],
            result=jsonable(ctx.result),
        )
        return "failed"
    except Exception as exc:
        text = traceback.format_exc()
        logger.exception("job %s: attempt %s failed", job.pk, job.attempts)
        if job.attempts < job.max_attempts:
            delay = config.retry_delay_seconds() * job.attempts
            message = f"attempt {job.attempts} failed ({type(exc).__name__}: {exc}); retrying"
            if job_release_for_retry(job_id=job.pk, owner=owner, error=text, message=message[:500]):
                from workers.dispatch import enqueue_job

                enqueue_job(job.pk, countdown=delay)
            return "retrying"
        job_finish(
            job_id=job.pk,
            owner=owner,
            state=Job.State.FAILED,
            error=text,
            message=f"{type(exc).__name__}: {exc}"[:500],
            result=jsonable(ctx.result),
        )
        return "failed"
    ctx.result["seconds"] = round(time.perf_counter() - started, 3)
    message = summary(ctx.result)
    job_finish(
        job_id=job.pk,
        owner=owner,
        state=Job.State.SUCCEEDED,
        progress=1.0,
        message=message[:500],
        error="",
        result=jsonable(ctx.result),
    )
    logger.info("job %s succeeded in %.2f s", job.pk, ctx.result["seconds"])
    return "succeeded"
