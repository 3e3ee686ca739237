"""The configured strategy picks the next batch -> a QueryBatch appended to the queue.

Without a model the cold-start strategy picks it (``typiclust`` by default) from the
embeddings; without embeddings, ``random``. Samples already queued, reserved or labeled
are never picked again. The queue grows by at most one batch per round and holds at
most two batches of open items; it stops growing once the project is done or its label
budget is committed.
"""

from __future__ import annotations

import numpy as np
from django.db import transaction

from labeling.models import Annotation, Project, QueryBatch, QueueItem, Sample
from labeling.selectors.labels import labeled_count
from labeling.services.queue import queue_append
from workers.context import JobError, StepContext
from workers.steps import score, train

OPEN_BATCHES = 2


def batch_size(ctx: StepContext) -> tuple[int, str]:
    """How many samples to add now, and why it is fewer than a batch when it is."""
    project, config = ctx.project, ctx.config
    size = int(ctx.params.get("batch_size") or config.batch_size)
    open_items = QueueItem.objects.filter(project=project, state=QueueItem.State.OPEN).count()
    room = OPEN_BATCHES * size - open_items
    if room < size:
        size = max(room, 0)
        reason = f"the queue already holds {open_items} open items"
    else:
        reason = ""
    if project.label_budget is not None:
        left = project.label_budget - labeled_count(project=project) - open_items
        if left < size:
            size = max(left, 0)
            reason = f"the label budget of {project.label_budget} is committed"
    return size, reason


def _choose(ctx: StepContext, k: int):
    """(strategy name, params, pool sample ids [n], Selection) or None when nothing is left."""
    import al_engine

    config = ctx.config
    pool = train.arrays(ctx)
    version = score.current_model(ctx) if pool is not None else None
    seed = int(ctx.job.pk) % (2**31)
    if pool is None:
        ids = np.array(
            Sample.objects.filter(project=ctx.project, split=Sample.Split.POOL)
            .order_by("pk")
            .values_list("pk", flat=True),
            dtype=np.int64,
        )
        busy = set(
            QueueItem.objects.filter(project=ctx.project).values_list("sample_id", flat=True)
        )
        busy |= set(
            Annotation.objects.filter(sample__project=ctx.project).values_list(
                "sample_id", flat=True
            )
        )
        taken = np.fromiter((int(i) in busy for i in ids), bool, len(ids))
        name, params, inputs = "random", {}, {}
    else:
        ids, taken = pool.ids, pool.taken
        if version is None:
            name, params = config.cold_start_strategy, {}
        else:
            name, params = config.strategy, dict(config.strategy_params or {})
        needs = al_engine.STRATEGIES[name].needs if name in al_engine.STRATEGIES else frozenset()
        probs = score.probabilities(ctx) if version is not None else None
        inputs = {}
        if "embeddings" in needs:
            inputs["embeddings"] = pool.X
        if "probs" in needs and probs is not None:
            inputs["probs"] = probs[0]
        if "committee_probs" in needs and probs is not None:
            if probs[1] is None:
                ctx.note(f"{name} needs a committee and none was trained; using the cold start")
                name, params, inputs = config.cold_start_strategy, {}, {"embeddings": pool.X}
            else:
                inputs["committee_probs"] = probs[1]
    left = int((~taken).sum())
    if left == 0:
        return None
    try:
        strategy = al_engine.get_strategy(name, **params)
    except ValueError as exc:
        raise JobError(f"the {name!r} strategy settings are not valid: {exc}") from exc
    try:
        chosen = strategy.select(min(k, left), labeled_mask=taken, random_state=seed, **inputs)
    except (al_engine.EmptyPoolError, al_engine.PoolExhaustedError):
        return None
    return name, params, ids, chosen


def run(ctx: StepContext) -> QueryBatch | None:
    project = ctx.project
    project.refresh_from_db(fields=["status", "done_reason", "label_budget", "target_accuracy"])
    done = QueryBatch.objects.filter(project=project, job=ctx.job).first()
    if done is not None:
        ctx.note(f"batch {done.pk} was queued by an earlier attempt of this job")
        return done
    if project.status == Project.Status.DONE:
        ctx.note(f"the project is done ({project.done_reason}); the queue is not extended")
        return None
    version = score.current_model(ctx)
    target = project.target_accuracy
    if version is not None and target and (version.holdout_accuracy or 0) >= target:
        ctx.note(f"accuracy {version.holdout_accuracy:.3f} reached the target {target}")
        return None
    k, reason = batch_size(ctx)
    if k <= 0:
        ctx.note(f"no samples added: {reason}")
        return None
    picked = _choose(ctx, k)
    if picked is None:
        ctx.note("every pool sample is queued or labeled: nothing left to select")
        return None
    name, params, ids, chosen = picked
    sample_ids = ids[chosen.indices]
    with transaction.atomic():
        batch = QueryBatch.objects.create(
            project=project,
            model_version=version,
            job=ctx.job,
            strategy=name,
            params=params,
            size=len(sample_ids),
        )
        added = queue_append(
            project=project,
            sample_ids=[int(i) for i in sample_ids],
            scores=[float(s) for s in chosen.scores],
            batch=batch,
        )
        if added != batch.size:
            batch.size = added
            batch.save(update_fields=["size"])
    ctx.result["select"] = {"batch": batch.pk, "strategy": name, "added": added}
    if reason:
        ctx.note(f"batch of {added}: {reason}")
    ctx.cache["batch"] = batch
    return batch
