"""A classifier (and a committee when the strategy needs one) from the current labels.

Labels are the effective ones (adjudicated, else the annotators' majority). The head is
trained on the current encoder's embeddings and measured on the holdout samples with a
known label; without any, on a k-fold cross-validation of the labels.
"""

from __future__ import annotations

import numpy as np

from labeling.models import ModelVersion
from workers import files
from workers.context import StepContext
from workers.pool import PoolArrays, embeddings_read, encoder_current, pool_arrays

HEAD_KINDS = ("linear", "mlp")
MAX_FOLDS = 5


def needs_committee(ctx: StepContext) -> bool:
    import al_engine

    info = al_engine.STRATEGIES.get(ctx.config.strategy)
    return bool(ctx.params.get("committee")) or (
        info is not None and "committee_probs" in info.needs
    )


def arrays(ctx: StepContext) -> PoolArrays | None:
    """The pool as arrays for the current encoder (cached for the job's later steps)."""
    if "arrays" not in ctx.cache:
        encoder = ctx.cache.get("encoder_version") or encoder_current(ctx.project)
        if encoder is None or not encoder.n_embedded:
            ctx.cache["arrays"] = None
        else:
            embedded = ctx.cache.get("embedded") or embeddings_read(encoder)
            ctx.cache["arrays"] = pool_arrays(ctx.project, encoder, embedded)
            ctx.cache["encoder_version"] = encoder
    return ctx.cache["arrays"]


def head_kind(ctx: StepContext) -> str:
    kind = ctx.params.get("classifier") or ctx.config.classifier
    if kind not in HEAD_KINDS:
        ctx.note(
            f"classifier {kind!r}: fine-tuning the encoder is not available in this version; "
            "an MLP head on the embeddings is trained instead"
        )
        return "mlp"
    return kind


def cross_validated(X, y, n_classes: int, kind: str, seed: int) -> dict | None:
    """Metrics of out-of-fold predictions, when no holdout labels exist."""
    from al_engine import heads, metrics

    counts = np.bincount(y, minlength=n_classes)
    folds = min(MAX_FOLDS, int(counts[counts > 0].min()))
    if folds < 2:
        return None
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        fold_of[rows] = np.arange(len(rows)) % folds
    predicted = np.empty(len(y), dtype=np.int64)
    for fold in range(folds):
        test = fold_of == fold
        head = heads.train_head(X[~test], y[~test], n_classes=n_classes, kind=kind, seed=seed)
        predicted[test] = head.predict_proba(X[test]).argmax(1)
    return metrics.evaluate(y, predicted, n_classes) | {"source": f"{folds}-fold cross-validation"}


def _load(ctx: StepContext, version: ModelVersion) -> None:
    from al_engine import heads

    ctx.cache["head"] = heads.load(files.absolute(version.checkpoint))
    committee = version.params.get("committee_checkpoint")
    ctx.cache["committee"] = heads.load(files.absolute(committee)) if committee else None


def run(ctx: StepContext) -> ModelVersion | None:
    project, job = ctx.project, ctx.job
    done = ModelVersion.objects.filter(project=project, job=job).first()
    if done is not None:
        ctx.note(f"model {done.pk} was saved by an earlier attempt of this job")
        _load(ctx, done)
        ctx.cache["model_version"] = done
        return done
    ctx.cache["model_version"] = None
    pool = arrays(ctx)
    if pool is None:
        ctx.note("no embeddings yet, so no classifier: pretrain to train one")
        return None
    X, y = pool.X[pool.labeled], pool.labels[pool.labeled]
    if len(y) == 0:
        ctx.note("no labels yet: the first batch comes from the cold-start strategy")
        return None
    if len(np.unique(y)) < 2:
        ctx.note(
            f"{len(y)} label(s), all of one class: a classifier needs two classes, "
            "so the batch comes from the cold-start strategy"
        )
        return None
    from al_engine import heads, metrics

    kind = head_kind(ctx)
    seed = int(job.pk) % (2**31)
    n_classes = pool.n_classes
    ctx.progress(0.1, f"training a {kind} head on {len(y)} labels", force=True)
    head = heads.train_head(X, y, n_classes=n_classes, kind=kind, seed=seed)
    committee = None
    members = 0
    if needs_committee(ctx):
        members = int(ctx.config.committee_size)
        ctx.progress(0.5, f"training a committee of {members}", force=True)
        committee = heads.train_committee(
            X, y, n_classes=n_classes, members=members, kind=kind, seed=seed
        )
    ctx.progress(0.8, "measuring", force=True)
    if len(pool.holdout_y):
        predicted = head.predict_proba(pool.holdout_X).argmax(1)
        scores = metrics.evaluate(pool.holdout_y, predicted, n_classes) | {"source": "holdout"}
    else:
        scores = cross_validated(X, y, n_classes, kind, seed) or {
            "source": "none: no holdout labels and too few labels per class to cross-validate"
        }
    folder = files.model_dir(project.pk, job.pk)
    heads.save(head, folder / "head.pt")
    params = {
        "n_classes": n_classes,
        "committee": members,
        "strategy": ctx.config.strategy,
        "seed": seed,
        "class_counts": np.bincount(y, minlength=n_classes).tolist(),
    }
    if committee is not None:
        heads.save(committee, folder / "committee.pt")
        params["committee_checkpoint"] = files.relative(folder / "committee.pt")
    version = ModelVersion.objects.create(
        project=project,
        encoder=ctx.cache.get("encoder_version"),
        job=job,
        kind=kind,
        params=params,
        n_labels=int(len(y)),
        checkpoint=files.relative(folder / "head.pt"),
        metrics=scores,
        holdout_accuracy=scores.get("accuracy"),
    )
    ctx.cache.update(model_version=version, head=head, committee=committee)
    accuracy = scores.get("accuracy")
    ctx.result["train"] = {
        "model_version": version.pk,
        "n_labels": int(len(y)),
        "accuracy": accuracy,
        "source": scores["source"],
        "committee": members,
    }
    return version
