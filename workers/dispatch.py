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
TRAINING_KINDS = frozenset({"train", "round"})
RUN_JOB_TASK = "workers.run_job"


def queue_for(kind: str, params: dict | None = None, configured_classifier: str = "") -> str:
    """``configured_classifier`` is the project's loop setting, used when the job's own
    params do not name a classifier: a round that fine-tunes the encoder needs the GPU."""
    if kind in GPU_KINDS:
        return GPU_QUEUE
    classifier = (params or {}).get("classifier") or configured_classifier
    if kind in TRAINING_KINDS and classifier == "finetune":
        return GPU_QUEUE
    return DEFAULT_QUEUE


def enqueue_job(job_id: int, countdown: float | None = None) -> None:
    """Send the job's id to its queue (after ``countdown`` seconds when given)."""
    from labeling.models import Job, LoopConfig

    job = Job.objects.only("kind", "params", "project_id").get(pk=job_id)
    configured = (
        LoopConfig.objects.filter(project_id=job.project_id)
        .values_list("classifier", flat=True)
        .first()
    )
    queue = queue_for(job.kind, job.params, configured or "")
    options = {} if countdown is None else {"countdown": countdown}
    app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue, **options)
