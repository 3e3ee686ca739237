"""Which queue a job goes to, and sending it there.

Jobs that run the encoder over images (pretraining, embedding, fine-tuning, heatmaps)
go to the ``gpu`` queue; everything else to ``default``.
"""

from __future__ import annotations

from workers.celery import app

DEFAULT_QUEUE = "default"
GPU_QUEUE = "gpu"
QUEUES = (DEFAULT_QUEUE, GPU_QUEUE)
GPU_KINDS = frozenset({"pretrain", "embed", "gradcam"})
RUN_JOB_TASK = "workers.run_job"


def queue_for(kind: str, params: dict | None = None) -> str:
    if kind in GPU_KINDS:
        return GPU_QUEUE
    if kind == "train" and (params or {}).get("classifier") == "finetune":
        return GPU_QUEUE
    return DEFAULT_QUEUE


def enqueue_job(job_id: int, countdown: float | None = None) -> None:
    """Send the job's id to its queue (after ``countdown`` seconds when given)."""
    from labeling.models import Job

    job = Job.objects.only("kind", "params").get(pk=job_id)
    options = {} if countdown is None else {"countdown": countdown}
    app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue_for(job.kind, job.params), **options)
