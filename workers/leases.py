"""Job leases: who runs a job, until when, and taking jobs back from lost workers.

The job row, not the broker message, decides who runs a job. A worker claims the row
with one conditional UPDATE; a second delivery of the same message (a Redis visibility
timeout shorter than the job, a requeue by the reaper racing a slow worker) finds the
lease live and does nothing. The holder renews the lease from a heartbeat thread; a
worker killed with ``kill -9`` stops renewing, and the reaper requeues the job once
the lease has expired.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta

from django.db import close_old_connections, connection
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from labeling.models import Job
from workers import config

logger = logging.getLogger("quarry.workers")


def worker_identity() -> str:
    """A lease owner name unique to this attempt: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def job_claim(*, job_id: int, owner: str) -> bool:
    """Take the job if it is queued, or running under a lease that has expired.

    One UPDATE decides, so of two workers racing for the same job exactly one wins.
    """
    now = timezone.now()
    claimable = Q(state=Job.State.QUEUED) | Q(state=Job.State.RUNNING, lease_expires_at__lt=now)
    won = (
        Job.objects.filter(claimable, pk=job_id, cancel_requested=False)
        .filter(attempts__lt=F("max_attempts"))
        .update(
            state=Job.State.RUNNING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=config.lease_seconds()),
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            started_at=Coalesce(F("started_at"), now),
            finished_at=None,
        )
    )
    return won == 1


def job_finish(*, job_id: int, owner: str, state: str, **fields) -> bool:
    """Write the final state, if this owner still holds the lease."""
    now = timezone.now()
    done = Job.objects.filter(pk=job_id, lease_owner=owner, state=Job.State.RUNNING).update(
        state=state, finished_at=now, lease_expires_at=None, heartbeat_at=now, **fields
    )
    return done == 1


def job_release_for_retry(*, job_id: int, owner: str, **fields) -> bool:
    """Put a running job back to queued (keeping its lock) so another attempt can claim it."""
    done = Job.objects.filter(pk=job_id, lease_owner=owner, state=Job.State.RUNNING).update(
        state=Job.State.QUEUED,
        lease_owner="",
        lease_expires_at=None,
        heartbeat_at=timezone.now(),
        **fields,
    )
    return done == 1


class Lease:
    """A held lease, renewed by a heartbeat thread; it also notices cancellation.

    ``renew`` may be called from the job's own thread too (on progress). ``lost`` is
    set when the row no longer names this owner: someone else has taken the job, and
    this attempt must stop without writing anything more.
    """

    def __init__(self, job_id: int, owner: str, *, thread: bool = True) -> None:
        self.job_id = job_id
        self.owner = owner
        self.seconds = config.lease_seconds()
        self.interval = config.heartbeat_seconds()
        self.lost = threading.Event()
        self.cancelled = threading.Event()
        self._stop = threading.Event()
        self._thread = (
            threading.Thread(target=self._beat, name=f"job-{job_id}-heartbeat", daemon=True)
            if thread
            else None
        )

    def __enter__(self) -> Lease:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 30)

    def renew(self, **fields) -> bool:
        now = timezone.now()
        kept = Job.objects.filter(
            pk=self.job_id, lease_owner=self.owner, state=Job.State.RUNNING
        ).update(lease_expires_at=now + timedelta(seconds=self.seconds), heartbeat_at=now, **fields)
        if not kept:
            self.lost.set()
            return False
        if Job.objects.filter(pk=self.job_id, cancel_requested=True).exists():
            self.cancelled.set()
        return True

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not self.renew():
                        logger.warning("job %s: lease lost by %s", self.job_id, self.owner)
                        return
                except Exception:  # a database hiccup: try again at the next beat
                    logger.exception("job %s: heartbeat failed", self.job_id)
                    close_old_connections()
        finally:
            connection.close()


def jobs_reap(*, now=None) -> dict[str, list[int]]:
    """Requeue running jobs whose lease expired; fail those that used all their attempts;
    send again jobs queued for longer than ``QUARRY_JOB_RESEND_SECONDS`` (a message lost
    with a broker outage or a worker killed before it claimed the job).

    Returns the ids of the jobs requeued, failed, cancelled and resent. Requeued jobs are sent to a worker
    again; if the lost worker's message is redelivered as well, only one claim wins.
    """
    from workers.dispatch import enqueue_job

    now = now or timezone.now()
    expired = Job.objects.filter(state=Job.State.RUNNING, lease_expires_at__lt=now)
    requeued: list[int] = []
    failed: list[int] = []
    cancelled: list[int] = []
    for job in expired.only("pk", "attempts", "max_attempts", "lease_owner", "cancel_requested"):
        base = Job.objects.filter(
            pk=job.pk,
            state=Job.State.RUNNING,
            lease_owner=job.lease_owner,
            lease_expires_at__lt=now,
        )
        if job.cancel_requested:
            if base.update(
                state=Job.State.CANCELLED,
                finished_at=now,
                lease_expires_at=None,
                message="cancelled (its worker stopped before it could finish)",
            ):
                cancelled.append(job.pk)
            continue
        if job.attempts >= job.max_attempts:
            if base.update(
                state=Job.State.FAILED,
                finished_at=now,
                lease_expires_at=None,
                error=(
                    f"the worker running this job stopped answering {job.attempts} times "
                    f"(attempt limit {job.max_attempts}); last holder {job.lease_owner}"
                ),
            ):
                failed.append(job.pk)
            continue
        if base.update(
            state=Job.State.QUEUED,
            lease_owner="",
            lease_expires_at=None,
            heartbeat_at=now,
            message=f"requeued: worker {job.lease_owner} stopped renewing its lease",
        ):
            requeued.append(job.pk)
            logger.warning("job %s requeued: lease of %s expired", job.pk, job.lease_owner)
            enqueue_job(job.pk)
    stale = now - timedelta(seconds=config.resend_seconds())
    resent: list[int] = []
    waiting = Job.objects.filter(state=Job.State.QUEUED).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at=None, created_at__lt=stale)
    )
    for job_id in waiting.values_list("pk", flat=True):
        # heartbeat_at of a queued job: when it was last sent.
        if Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(heartbeat_at=now):
            resent.append(job_id)
            enqueue_job(job_id)
    return {"requeued": requeued, "failed": failed, "cancelled": cancelled, "resent": resent}
