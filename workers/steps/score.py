"""Probabilities for the pool -> Prediction rows (indexed ``score``) and a file for selection.

``Prediction.score`` is the normalized entropy of the (committee-mean) class
probabilities: 1 = the model cannot tell the classes apart, 0 = it is certain. The batch
itself is chosen by the configured strategy, which may weigh more than uncertainty.

Once the rows are written, the predictions of the project's older model versions are pruned
(:func:`labeling.services.predictions.predictions_prune`, ``QUARRY_KEEP_PREDICTION_VERSIONS``).
"""

from __future__ import annotations

import time

import numpy as np
from django.db import connection, transaction

from labeling.models import ModelVersion, Prediction
from labeling.services.predictions import predictions_prune
from workers import files
from workers.context import StepContext
from workers.steps import train

WRITE_BATCH = 2000


def normalized_entropy(probs: np.ndarray) -> np.ndarray:
    p = np.clip(probs.astype(np.float64), 1e-12, 1.0)
    h = -(p * np.log(p)).sum(axis=1)
    return h / np.log(max(probs.shape[1], 2))


def predictions_insert(rows: list[tuple]) -> None:
    """Insert (model_version, sample, label, confidence, score, heatmap) rows with one
    ``executemany``: several times faster than ``bulk_create`` for a whole pool."""
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = ("model_version_id", "sample_id", "predicted_label", "confidence", "score", "heatmap")
    sql = (
        f"INSERT INTO {quote(Prediction._meta.db_table)} "
        f"({', '.join(quote(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), WRITE_BATCH * 10):
            cursor.executemany(sql, rows[start : start + WRITE_BATCH * 10])


def current_model(ctx: StepContext) -> ModelVersion | None:
    if "model_version" in ctx.cache:
        return ctx.cache["model_version"]
    version = train.latest_model(ctx.project)
    ctx.cache["model_version"] = version
    if version is not None:
        train._load(ctx, version)
        if version.encoder is not None and "arrays" not in ctx.cache:
            # Score with the embeddings the model was trained on (a fine-tuned model's own:
            # see train.arrays).
            ctx.cache["encoder_version"] = version.encoder
    return version


def probabilities(ctx: StepContext) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Pool probabilities ``[n, c]`` and committee probabilities ``[m, n, c]`` (or None)."""
    if "probs" in ctx.cache:
        return ctx.cache["probs"], ctx.cache["committee_probs"]
    version, pool = current_model(ctx), train.arrays(ctx)
    if version is None or pool is None:
        return None
    committee = ctx.cache.get("committee")
    if committee is not None:
        committee_probs = np.asarray(committee.predict_proba(pool.X), dtype=np.float32)
        probs = np.asarray(ctx.cache["head"].predict_proba(pool.X), dtype=np.float32)
    else:
        committee_probs = None
        probs = np.asarray(ctx.cache["head"].predict_proba(pool.X), dtype=np.float32)
    ctx.cache.update(probs=probs, committee_probs=committee_probs)
    return probs, committee_probs


def run(ctx: StepContext) -> int:
    version = current_model(ctx)
    pool = train.arrays(ctx)
    if version is None or pool is None:
        return 0
    ctx.progress(0.05, f"scoring {len(pool.ids)} pool samples", force=True)
    started = time.perf_counter()
    probs, committee_probs = probabilities(ctx)
    computed = time.perf_counter()
    folder = files.absolute(version.checkpoint).parent
    files.npy_save(folder / "pool_ids.npy", pool.ids)
    files.npy_save(folder / "pool_probs.npy", probs)
    if committee_probs is not None:
        files.npy_save(folder / "pool_committee_probs.npy", committee_probs)
    mean = committee_probs.mean(axis=0) if committee_probs is not None else probs
    rows = np.flatnonzero(~pool.annotated)
    predicted = mean[rows].argmax(axis=1)
    confidence = mean[rows].max(axis=1)
    scores = normalized_entropy(mean[rows])
    existing = dict(Prediction.objects.filter(model_version=version).values_list("sample_id", "pk"))
    fresh, stale = [], []
    for r, label, conf, score in zip(rows, predicted, confidence, scores, strict=True):
        sample_id = int(pool.ids[r])
        values = (version.pk, sample_id, int(label), float(conf), float(score), "")
        if sample_id in existing:
            stale.append(
                Prediction(
                    pk=existing[sample_id],
                    predicted_label=int(label),
                    confidence=float(conf),
                    score=float(score),
                )
            )
        else:
            fresh.append(values)
    ctx.progress(0.5, f"writing {len(rows)} predictions", force=True)
    predictions_insert(fresh)
    if stale:
        Prediction.objects.bulk_update(
            stale, ["predicted_label", "confidence", "score"], batch_size=WRITE_BATCH
        )
    written = time.perf_counter()
    ctx.progress(0.9, "pruning older predictions", force=True)
    pruned = predictions_prune(project=ctx.project, also_keep=[version.pk])
    ctx.result["score"] = {
        "model_version": version.pk,
        "predictions": len(rows),
        "seconds_probabilities": round(computed - started, 4),
        "seconds_rows": round(written - computed, 4),
        "pruned": {
            "versions": pruned.versions,
            "predictions": pruned.predictions,
            "files": pruned.files,
            "seconds": round(time.perf_counter() - written, 4),
        },
    }
    return len(rows)
