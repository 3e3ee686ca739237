"""A classifier (and a committee when the strategy needs one) from the current labels.

Labels are the effective ones (adjudicated, else the annotators' majority). The head is
trained on the current encoder's embeddings and measured on the holdout samples with a
known label; without any, on a k-fold cross-validation of the labels.

With the ``finetune`` classifier a copy of the whole encoder is trained with a linear head
on the labeled images (:func:`ssl_pretrain.finetune`); the fine-tuned encoder, the head and
the embeddings of every sample under the fine-tuned encoder are saved in the model's
folder, and scoring, selection and heat maps of that model use them. The fine-tuning state
is checkpointed every epoch in that folder (``finetune_checkpoint.pt``): a later attempt of
the same job resumes from it, and it is removed once the model version is saved.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labeling.models import EncoderVersion, ModelVersion, Project, Sample
from labeling.selectors.models import classifier_versions
from workers import config as knobs
from workers import files
from workers.context import JobError, StepContext
from workers.oom import with_batch_backoff
from workers.pool import (
    PoolArrays,
    embeddings_append,
    embeddings_read,
    encoder_current,
    images_load,
    pool_arrays,
)
from workers.steps.embed import missing

HEAD_KINDS = ("linear", "mlp")
FINETUNE = "finetune"
MAX_FOLDS = 5
# Fine-tuning defaults; a job's params may set finetune_epochs / finetune_batch_size / ...
FINETUNE_EPOCHS = 20
FINETUNE_BATCH_SIZE = 64
FINETUNE_LR = 1e-3
FINETUNE_ENCODER_LR_SCALE = 0.1
EMBED_CHUNK = 2048
EMBED_BATCH_SIZE = 256
FINETUNE_CHECKPOINT = "finetune_checkpoint.pt"


def needs_committee(ctx: StepContext) -> bool:
    import al_engine

    info = al_engine.STRATEGIES.get(ctx.config.strategy)
    return bool(ctx.params.get("committee")) or (
        info is not None and "committee_probs" in info.needs
    )


def latest_model(project: Project) -> ModelVersion | None:
    return classifier_versions(project=project).select_related("encoder").first()


def arrays(ctx: StepContext) -> PoolArrays | None:
    """The pool as arrays for the current encoder (cached for the job's later steps); when
    the model in use is a fine-tuned one, with the fine-tuned encoder's embeddings."""
    if "arrays" not in ctx.cache:
        if "model_version" in ctx.cache:
            model = ctx.cache["model_version"]
        else:
            model = latest_model(ctx.project)
        if model is not None and model.kind == FINETUNE:
            ctx.cache["arrays"] = finetuned_arrays(ctx, model)
            return ctx.cache["arrays"]
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
    if kind not in (*HEAD_KINDS, FINETUNE):
        raise JobError(
            f"unknown classifier {kind!r}; valid classifiers: {', '.join((*HEAD_KINDS, FINETUNE))}"
        )
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
        # That attempt may have stopped between saving the model and removing its checkpoint.
        (files.model_dir(project.pk, job.pk) / FINETUNE_CHECKPOINT).unlink(missing_ok=True)
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
    folder = files.model_dir(project.pk, job.pk)
    extra: dict = {}
    if kind == FINETUNE:
        head, tuned, extra = finetune_train(ctx, pool, folder, seed)
        # The committee and the measurements use the fine-tuned encoder's embeddings.
        X = tuned.X[np.searchsorted(tuned.ids, pool.ids[pool.labeled])]
        pool = ctx.cache["arrays"] = tuned
        member_kind = "linear"
    else:
        ctx.progress(0.1, f"training a {kind} head on {len(y)} labels", force=True)
        head = heads.train_head(X, y, n_classes=n_classes, kind=kind, seed=seed)
        member_kind = kind
    committee = None
    members = 0
    if needs_committee(ctx):
        members = int(ctx.config.committee_size)
        ctx.progress(
            0.85 if kind == FINETUNE else 0.5, f"training a committee of {members}", force=True
        )
        committee = heads.train_committee(
            X, y, n_classes=n_classes, members=members, kind=member_kind, seed=seed
        )
    ctx.progress(0.9 if kind == FINETUNE else 0.8, "measuring", force=True)
    if len(pool.holdout_y):
        predicted = head.predict_proba(pool.holdout_X).argmax(1)
        scores = metrics.evaluate(pool.holdout_y, predicted, n_classes) | {"source": "holdout"}
    elif kind == FINETUNE:
        # Cross-validating would mean one fine-tuning per fold.
        scores = {"source": "none: no holdout labels (a fine-tuned model is not cross-validated)"}
    else:
        scores = cross_validated(X, y, n_classes, kind, seed) or {
            "source": "none: no holdout labels and too few labels per class to cross-validate"
        }
    heads.save(head, folder / "head.pt")
    params = {
        "n_classes": n_classes,
        "committee": members,
        "strategy": ctx.config.strategy,
        "seed": seed,
        "class_counts": np.bincount(y, minlength=n_classes).tolist(),
        **extra,
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
    # The model is saved: a later attempt of this job finds it, the fine-tuning state is spent.
    (folder / FINETUNE_CHECKPOINT).unlink(missing_ok=True)
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


def _embeddings_store(project: Project, folder) -> EncoderVersion:
    """The fine-tuned encoder's embeddings are part files like an encoder version's; this
    unsaved row only names their folder, for ``embeddings_read``/``embeddings_append``."""
    return EncoderVersion(project=project, embeddings_dir=files.relative(folder / "embeddings"))


def _embed_missing(ctx: StepContext, encoder, store: EncoderVersion, low: float, high: float):
    """Embed the project's samples that ``store`` lacks with ``encoder``; return them all."""
    import ssl_pretrain

    todo = missing(ctx.project, store)
    device = knobs.device()
    size = int(encoder.image_size)
    batch = {"size": EMBED_BATCH_SIZE}
    for start in range(0, len(todo), EMBED_CHUNK):
        chunk = todo[start : start + EMBED_CHUNK]
        ctx.progress(low + (high - low) * start / len(todo), f"embedding {len(todo)} samples")
        images = images_load([name for _, name in chunk], size)

        def attempt(batch_size: int, images=images) -> np.ndarray:
            batch["size"] = batch_size
            return ssl_pretrain.embed(encoder, images, device=device, batch_size=batch_size)

        X = with_batch_backoff(ctx, "embed", batch["size"], 1, attempt)
        embeddings_append(store, np.fromiter((pk for pk, _ in chunk), np.int64, len(chunk)), X)
    return embeddings_read(store)


def _as_head(linear, n_classes: int):
    """The fine-tuned linear layer as an ``al_engine`` head (identity standardization), so
    scoring, saving and Grad-CAM treat it like any other head."""
    from al_engine import heads

    net = heads._build("linear", linear.in_features, n_classes, 0)
    net[1].load_state_dict({k: v.detach().cpu() for k, v in linear.state_dict().items()})
    return heads.Head(net, kind="linear", n_classes=n_classes, hidden=0)


def finetune_train(ctx: StepContext, pool: PoolArrays, folder, seed: int):
    """Fine-tune a copy of the current encoder with a linear head on the labeled pool
    samples; save both and every sample's fine-tuned embedding under ``folder``.
    The fine-tuning state is checkpointed every epoch and resumed by a later attempt.
    Returns the head (an ``al_engine`` head), the pool arrays under the fine-tuned
    encoder, and what the model version's params record."""
    import shutil

    import ssl_pretrain
    from ssl_pretrain.checkpoint import load_checkpoint
    from ssl_pretrain.finetune import CheckpointMismatchError

    base = ctx.cache.get("encoder_version")
    if base is None or not base.checkpoint:
        raise JobError("fine-tuning needs a pretrained encoder: pretrain first")
    device = knobs.device()
    path = files.absolute(base.checkpoint)
    encoder = ssl_pretrain.load_encoder(path, device=device)
    config = ssl_pretrain.PretrainConfig.from_dict(load_checkpoint(path)["config"])
    ids, y = pool.ids[pool.labeled], pool.labels[pool.labeled]
    names = dict(Sample.objects.filter(pk__in=ids.tolist()).values_list("pk", "file"))
    size = int(encoder.image_size)
    ctx.progress(0.02, f"loading {len(ids)} labeled images at {size}x{size}", force=True)
    images = images_load([names[int(i)] for i in ids], size)
    given = ctx.params
    try:
        options: dict[str, Any] = {
            "epochs": int(given.get("finetune_epochs", FINETUNE_EPOCHS)),
            "lr": float(given.get("finetune_lr", FINETUNE_LR)),
            "encoder_lr_scale": float(
                given.get("finetune_encoder_lr_scale", FINETUNE_ENCODER_LR_SCALE)
            ),
        }
        batch_size = int(given.get("finetune_batch_size", FINETUNE_BATCH_SIZE))
    except (TypeError, ValueError) as exc:
        raise JobError(f"fine-tuning settings are not valid: {exc}") from exc
    checkpoint = folder / FINETUNE_CHECKPOINT
    saved = files.earlier_checkpoint(checkpoint, "settings")
    if saved is not None:
        # An earlier attempt may have halved the batch size: start from what it used.
        same = saved["settings"]
        if all(same.get(k) == v for k, v in options.items()) and same.get("seed") == seed:
            batch_size = min(batch_size, int(same.get("batch_size") or batch_size))
    used = {"batch_size": batch_size}

    def on_progress(epoch: int, n_epochs: int, loss: float, img_per_s: float) -> None:
        ctx.progress(
            0.05 + 0.6 * epoch / n_epochs,
            f"fine-tuning epoch {epoch}/{n_epochs}: loss {loss:.4f}, {img_per_s:.0f} img/s",
            force=True,
        )

    def attempt(bs: int):
        used["batch_size"] = bs

        def train(resume: bool):
            return ssl_pretrain.finetune(
                encoder,
                images,
                y,
                n_classes=pool.n_classes,
                device=device,
                batch_size=bs,
                seed=seed,
                on_progress=on_progress,
                checkpoint_path=checkpoint,
                resume=resume,
                **options,
            )

        try:
            return train(resume=True)
        except CheckpointMismatchError as exc:
            # Other labels, settings or batch size than the checkpoint's: start afresh.
            ctx.note(
                f"fine-tuning starts afresh: the checkpoint of epoch {exc.epoch} was made "
                f"for another run ({exc.reason})"
            )
            checkpoint.unlink(missing_ok=True)
            return train(resume=False)

    ctx.progress(0.05, f"fine-tuning {config.backbone} on {len(y)} labels ({device})", force=True)
    try:
        result = with_batch_backoff(ctx, "finetune", batch_size, 2, attempt)
    except ValueError as exc:
        raise JobError(f"fine-tuning failed: {exc}") from exc
    if result.resumed_from_epoch:
        ctx.note(f"resumed fine-tuning from the checkpoint of epoch {result.resumed_from_epoch}")
    ssl_pretrain.save_encoder(result.encoder, folder / "encoder.pt", config=config)
    # An earlier attempt's embeddings came from another fine-tuning: start afresh.
    shutil.rmtree(folder / "embeddings", ignore_errors=True)
    store = _embeddings_store(ctx.project, folder)
    embedded = _embed_missing(ctx, result.encoder, store, 0.65, 0.85)
    history = result.history
    extra = {
        "encoder_checkpoint": files.relative(folder / "encoder.pt"),
        "embeddings_dir": store.embeddings_dir,
        "finetune": {
            **options,
            "batch_size": used["batch_size"],
            "device": device,
            "image_size": size,
            "final_loss": history[-1]["loss"],
            "train_accuracy": history[-1]["accuracy"],
            "loss_history": [round(h["loss"], 5) for h in history],
            "resumed_from_epoch": result.resumed_from_epoch,
        },
    }
    ctx.cache["finetuned_encoder"] = result.encoder
    ctx.result["finetune"] = {k: extra["finetune"][k] for k in ("epochs", "batch_size", "device")}
    return _as_head(result.head, pool.n_classes), pool_arrays(ctx.project, base, embedded), extra


def finetuned_arrays(ctx: StepContext, version: ModelVersion) -> PoolArrays:
    """Pool arrays under a fine-tuned model's encoder; samples imported since it was saved
    are embedded with it first."""
    import ssl_pretrain

    store = _embeddings_store(ctx.project, files.absolute(version.checkpoint).parent)
    encoder = ctx.cache.get("finetuned_encoder")
    if missing(ctx.project, store):
        if encoder is None:
            checkpoint = files.absolute(version.params["encoder_checkpoint"])
            encoder = ssl_pretrain.load_encoder(checkpoint, device=knobs.device())
        embedded = _embed_missing(ctx, encoder, store, 0.0, 0.5)
    else:
        embedded = embeddings_read(store)
    return pool_arrays(ctx.project, version.encoder, embedded)
