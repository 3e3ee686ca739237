"""Classification metrics of a model version on the holdout (plain numpy)."""

from __future__ import annotations

import numpy as np

__all__ = ["evaluate"]


def evaluate(y_true, y_pred, n_classes: int) -> dict:
    """Accuracy, macro F1, per-class recall and the confusion matrix (rows = true class).

    Macro F1 averages over the classes that occur in ``y_true`` or ``y_pred`` (as scikit-learn
    does by default); the recall of a class absent from ``y_true`` is ``None``.
    """
    t = np.asarray(y_true).astype(np.int64, copy=False).ravel()
    p = np.asarray(y_pred).astype(np.int64, copy=False).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.shape[0]} labels but y_pred has {p.shape[0]}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive int, got {n_classes!r}")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
            raise ValueError(f"{name} holds a class outside 0..{n_classes - 1}")
    conf = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    conf = conf.reshape(n_classes, n_classes)
    support = conf.sum(axis=1)
    predicted = conf.sum(axis=0)
    tp = np.diag(conf)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / np.maximum(support, 1), np.nan)
        denom = support + predicted
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)
    present = (support + predicted) > 0
    return {
        "n": int(t.shape[0]),
        "accuracy": float(tp.sum() / t.shape[0]) if t.shape[0] else 0.0,
        "macro_f1": float(np.mean(f1[present])) if present.any() else 0.0,
        "per_class_recall": [None if np.isnan(r) else float(r) for r in recall],
        "confusion": conf.tolist(),
    }
