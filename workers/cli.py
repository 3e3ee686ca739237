"""Shared by the management commands: find a project, run or wait for a job, report it."""

from __future__ import annotations

import time

from django.core.management.base import CommandError

from labeling.models import Job, Project

FINISHED = (Job.State.SUCCEEDED, Job.State.FAILED, Job.State.CANCELLED)


def project_get(name_or_id: str) -> Project:
    project = Project.objects.filter(name=name_or_id).first()
    if project is None and name_or_id.isdigit():
        project = Project.objects.filter(pk=int(name_or_id)).first()
    if project is None:
        names = ", ".join(Project.objects.order_by("name").values_list("name", flat=True)[:20])
        raise CommandError(f"no project named {name_or_id!r}; projects: {names or 'none yet'}")
    return project


def add_follow_arguments(parser) -> None:
    """``--wait``, ``--here`` and ``--timeout``: what ``job_follow`` takes from a command."""
    follow = parser.add_mutually_exclusive_group()
    follow.add_argument("--wait", action="store_true", help="wait for a worker to finish it")
    follow.add_argument(
        "--here", action="store_true", help="run it in this process instead of on a worker"
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds to wait at most")


def job_follow(job: Job, write, *, here: bool = False, timeout: float | None = None) -> Job:
    """Run the job in this process (``here``) or wait for a worker to finish it,
    printing its progress; raises CommandError unless it succeeds."""
    if here:
        from workers.runner import run_job

        run_job(job.pk)
    deadline = None if timeout is None else time.monotonic() + timeout
    last = None
    while True:
        job.refresh_from_db()
        line = f"[{job.progress * 100:5.1f}%] {job.state}: {job.message}"
        if line != last:
            write(line)
            last = line
        if job.state in FINISHED:
            break
        if deadline is not None and time.monotonic() > deadline:
            raise CommandError(
                f"job {job.pk} is still {job.state} after {timeout:.0f} s "
                "(is a worker running? start one with: celery -A workers worker -Q default,gpu)"
            )
        time.sleep(1.0)
    if job.state != Job.State.SUCCEEDED:
        raise CommandError(f"job {job.pk} {job.state}: {job.error or job.message}")
    return job
