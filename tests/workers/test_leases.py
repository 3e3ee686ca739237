"""The job row decides who runs a job: one claim wins, expired leases are taken back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Job
from labeling.services.jobs import job_cancel, job_create
from tests.factories import ProjectFactory
from workers.leases import Lease, job_claim, job_finish, jobs_reap

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(sent):
    return job_create(project=ProjectFactory(), kind=Job.Kind.PRETRAIN)


def test_only_one_claim_of_a_queued_job_wins(job, fast_lease):
    assert job_claim(job_id=job.pk, owner="a")
    assert not job_claim(job_id=job.pk, owner="b")
    job.refresh_from_db()
    assert (job.state, job.lease_owner, job.attempts) == (Job.State.RUNNING, "a", 1)
    assert job.lease_expires_at > timezone.now()


def test_an_expired_lease_can_be_claimed_again(job, fast_lease):
    assert job_claim(job_id=job.pk, owner="a")
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert job_claim(job_id=job.pk, owner="b")
    job.refresh_from_db()
    assert (job.lease_owner, job.attempts) == ("b", 2)
    # The first holder can no longer write its outcome.
    assert not job_finish(job_id=job.pk, owner="a", state=Job.State.SUCCEEDED)
    assert job_finish(job_id=job.pk, owner="b", state=Job.State.SUCCEEDED)


def test_no_claim_after_the_last_attempt_or_when_finished(job, fast_lease):
    Job.objects.filter(pk=job.pk).update(attempts=3)
    assert not job_claim(job_id=job.pk, owner="a")
    Job.objects.filter(pk=job.pk).update(attempts=0, state=Job.State.SUCCEEDED)
    assert not job_claim(job_id=job.pk, owner="a")


def test_heartbeat_renews_the_lease_and_notices_cancellation(job, fast_lease):
    assert job_claim(job_id=job.pk, owner="a")
    first = Job.objects.get(pk=job.pk).lease_expires_at
    with Lease(job.pk, "a") as lease:
        job_cancel(job=job)
        for _ in range(50):
            if lease.cancelled.is_set():
                break
            lease._stop.wait(0.1)
        assert lease.cancelled.is_set()
        assert not lease.lost.is_set()
    assert Job.objects.get(pk=job.pk).lease_expires_at > first


def test_heartbeat_notices_a_lost_lease(job, fast_lease):
    assert job_claim(job_id=job.pk, owner="a")
    with Lease(job.pk, "a", thread=False) as lease:
        Job.objects.filter(pk=job.pk).update(lease_owner="b")
        assert not lease.renew()
        assert lease.lost.is_set()


def test_reaper_requeues_expired_jobs_and_sends_them_again(job, sent, fast_lease):
    assert job_claim(job_id=job.pk, owner="gone")
    sent.clear()
    assert jobs_reap() == {"requeued": [], "failed": [], "cancelled": [], "resent": []}
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert jobs_reap()["requeued"] == [job.pk]
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED and job.lease_owner == ""
    assert "stopped renewing" in job.message
    assert sent == [("workers.run_job", [job.pk], "gpu", {})]
    # Still holding the project's training lock while queued again.
    assert job.lock == "training"


def test_reaper_fails_a_job_that_used_all_attempts(job, sent, fast_lease):
    assert job_claim(job_id=job.pk, owner="gone")
    Job.objects.filter(pk=job.pk).update(
        attempts=3, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert jobs_reap()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "stopped answering 3 times" in job.error


def test_reaper_finishes_a_cancelled_job_whose_worker_died(job, sent, fast_lease):
    assert job_claim(job_id=job.pk, owner="gone")
    Job.objects.filter(pk=job.pk).update(
        cancel_requested=True, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert jobs_reap()["cancelled"] == [job.pk]
    assert Job.objects.get(pk=job.pk).state == Job.State.CANCELLED


def test_reaper_sends_a_long_queued_job_again_once_per_period(job, sent, settings):
    settings.QUARRY_JOB_RESEND_SECONDS = 60
    sent.clear()
    assert jobs_reap()["resent"] == []
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    assert jobs_reap()["resent"] == [job.pk]
    assert jobs_reap()["resent"] == []
    assert sent == [("workers.run_job", [job.pk], "gpu", {})]
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED
