"""Steps of the loop, one module each, and which steps each job kind runs.

A round chains train -> score -> select -> evaluate (embedding new samples first, and
asking for heat maps afterwards); a pretrain job runs pretrain -> embed, and the round
too when its params say ``{"round": true}``. Steps hand arrays to one another through
the context's cache and write rows as they go, each row tagged with the job, so a
retried job skips what an earlier attempt already finished.
"""

from __future__ import annotations

from labeling.models import Job
from workers.context import StepContext
from workers.steps import (
    embed,
    evaluate,
    heatmaps,
    imports,
    pretrain,
    score,
    select,
    simulate,
    train,
)


def round_run(ctx: StepContext, low: float = 0.0, high: float = 1.0) -> None:
    from labeling.selectors.labels import labeled_count

    def at(fraction: float) -> float:
        return low + (high - low) * fraction

    ctx.result["labels_at_start"] = labeled_count(project=ctx.project)

    if embed.target_encoder(ctx) is not None:
        with ctx.phase("embed_new", at(0.0), at(0.1)):
            embed.run(ctx, required=False)
    with ctx.phase("train", at(0.1), at(0.5)):
        train.run(ctx)
    with ctx.phase("score", at(0.5), at(0.75)):
        score.run(ctx)
    with ctx.phase("select", at(0.75), at(0.9)):
        batch = select.run(ctx)
    with ctx.phase("evaluate", at(0.9), at(1.0)):
        evaluate.run(ctx)
    version = ctx.cache.get("model_version")
    if batch is not None and version is not None and version.encoder_id and batch.size:
        heatmaps_request(ctx, version.pk)


def heatmaps_request(ctx: StepContext, model_version_id: int) -> None:
    """Ask for heat maps of the new batch in a separate job (queue ``gpu``)."""
    from labeling.services.jobs import job_create

    if ctx.params.get("heatmaps") is False:
        return
    child = job_create(
        project=ctx.project,
        kind=Job.Kind.GRADCAM,
        params={"model_version": model_version_id},
        parent=ctx.job,
    )
    ctx.result["heatmaps_job"] = child.pk


def _single(step, name: str):
    def run(ctx: StepContext) -> None:
        with ctx.phase(name, 0.0, 1.0):
            step(ctx)

    return run


def _pretrain(ctx: StepContext) -> None:
    then_round = bool(ctx.params.get("round"))
    with ctx.phase("pretrain", 0.0, 0.7 if then_round else 0.85):
        pretrain.run(ctx)
    with ctx.phase("embed", 0.7 if then_round else 0.85, 0.8 if then_round else 1.0):
        embed.run(ctx)
    if then_round:
        round_run(ctx, 0.8, 1.0)


def _train(ctx: StepContext) -> None:
    with ctx.phase("train", 0.0, 0.8):
        train.run(ctx)
    with ctx.phase("evaluate", 0.8, 1.0):
        evaluate.run(ctx)


PLANS = {
    Job.Kind.PRETRAIN: _pretrain,
    Job.Kind.EMBED: _single(embed.run, "embed"),
    Job.Kind.TRAIN: _train,
    Job.Kind.SCORE: _single(score.run, "score"),
    Job.Kind.SELECT: _single(select.run, "select"),
    Job.Kind.EVALUATE: _single(evaluate.run, "evaluate"),
    Job.Kind.ROUND: round_run,
    Job.Kind.SIMULATE: _single(simulate.run, "simulate"),
    Job.Kind.GRADCAM: _single(heatmaps.run, "heatmaps"),
    Job.Kind.IMPORT: _single(imports.run, "import"),
}


def run_plan(ctx: StepContext) -> None:
    plan = PLANS.get(ctx.job.kind)
    if plan is None:
        from workers.context import JobError

        raise JobError(f"no worker step for job kind {ctx.job.kind!r}")
    plan(ctx)
