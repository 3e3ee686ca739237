"""Strategies compared on the project's own embeddings and oracle labels -> SimulationRun."""

from __future__ import annotations

import numpy as np

from labeling.models import Sample, SimulationRun
from workers.context import JobError, StepContext
from workers.pool import embeddings_read, encoder_current

MIN_HOLDOUT = 10


def run(ctx: StepContext) -> SimulationRun:
    from al_engine.simulate import simulate

    project, params = ctx.project, ctx.params
    encoder = encoder_current(project)
    if encoder is None:
        raise JobError(
            "simulation needs embeddings: pretrain first (python manage.py al_round PROJECT --pretrain)"
        )
    ids, X = embeddings_read(encoder)
    known = dict(
        Sample.objects.filter(project=project)
        .exclude(oracle_label=None)
        .values_list("pk", "oracle_label")
    )
    holdout_ids = set(
        Sample.objects.filter(project=project, split=Sample.Split.HOLDOUT).values_list(
            "pk", flat=True
        )
    )
    y = np.fromiter((known.get(int(i), -1) for i in ids), np.int64, len(ids))
    in_holdout = np.fromiter((int(i) in holdout_ids for i in ids), bool, len(ids))
    pool = (y >= 0) & ~in_holdout
    test = (y >= 0) & in_holdout
    if pool.sum() < 2 or len(np.unique(y[pool])) < 2:
        raise JobError(
            "simulation needs oracle labels of at least two classes: "
            "import the dataset with labels_as='oracle'"
        )
    holdout = (X[test], y[test]) if test.sum() >= MIN_HOLDOUT else 0.2
    classifier = ctx.config.classifier if ctx.config.classifier in ("linear", "mlp") else "linear"
    options = {
        "strategies": list(params["strategies"]),
        "budget": int(params["budget"]),
        "seeds": int(params.get("seeds", 5)),
        "initial": int(params.get("initial", 10)),
        "batch_size": int(params.get("batch_size", 10)),
        "classifier": classifier,
        "target": project.target_accuracy,
    }

    def on_progress(done: int, total: int, strategy: str = "", seed: int = 0) -> None:
        ctx.progress(
            done / max(total, 1), f"simulated {done}/{total} runs ({strategy}, seed {seed})"
        )

    ctx.progress(0.0, f"simulating {', '.join(options['strategies'])} on {int(pool.sum())} samples")
    try:
        result = simulate(X[pool], y[pool], holdout=holdout, on_progress=on_progress, **options)
    except ValueError as exc:
        raise JobError(f"the simulation does not fit this project: {exc}") from exc
    run = SimulationRun.objects.create(
        project=project,
        job=ctx.job,
        params={
            **options,
            "holdout": "project holdout" if test.sum() >= MIN_HOLDOUT else 0.2,
            "n_pool": int(pool.sum()),
            "encoder": encoder.pk,
        },
        result=result.to_dict(),
    )
    ctx.result["simulation"] = run.pk
    return run
