"""Representation quality: weighted cosine kNN and a linear probe on frozen embeddings.

The kNN classifier is the one of Wu et al. 2018 (https://arxiv.org/abs/1805.01978), used by
SimCLR/BYOL/lightly benchmarks: cosine similarity, the k nearest training rows vote with
weight ``exp(sim / t)``. Computed in chunks, never as a full test x train matrix.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _check(
    train_emb: np.ndarray, train_y: np.ndarray, test_emb: np.ndarray, test_y: np.ndarray
) -> None:
    if len(train_emb) != len(train_y) or len(test_emb) != len(test_y):
        raise ValueError("embeddings and labels must have the same number of rows")
    if len(train_emb) == 0 or len(test_emb) == 0:
        raise ValueError("need at least one training and one test row")
    if np.asarray(train_emb).shape[1] != np.asarray(test_emb).shape[1]:
        raise ValueError("training and test embeddings have different widths")


@torch.no_grad()
def knn_accuracy(
    train_emb: np.ndarray,
    train_y: np.ndarray,
    test_emb: np.ndarray,
    test_y: np.ndarray,
    k: int = 200,
    t: float = 0.1,
    chunk: int = 1024,
) -> float:
    """Weighted cosine kNN accuracy in [0, 1]."""
    _check(train_emb, train_y, test_emb, test_y)
    train = F.normalize(torch.as_tensor(np.asarray(train_emb), dtype=torch.float32), dim=1)
    test = F.normalize(torch.as_tensor(np.asarray(test_emb), dtype=torch.float32), dim=1)
    labels = torch.as_tensor(np.asarray(train_y), dtype=torch.long)
    truth = torch.as_tensor(np.asarray(test_y), dtype=torch.long)
    n_classes = int(max(labels.max(), truth.max())) + 1
    k = min(k, len(train))
    correct = 0
    for start in range(0, len(test), chunk):
        sim = test[start : start + chunk] @ train.T
        top_sim, top_idx = sim.topk(k, dim=1)
        weights = (top_sim / t).exp()
        votes = torch.zeros(len(sim), n_classes).scatter_add_(1, labels[top_idx], weights)
        correct += int((votes.argmax(1) == truth[start : start + chunk]).sum())
    return correct / len(test)


def linear_probe_accuracy(
    train_emb: np.ndarray,
    train_y: np.ndarray,
    test_emb: np.ndarray,
    test_y: np.ndarray,
    *,
    c: float = 1.0,
    max_iter: int = 1000,
) -> float:
    """Accuracy of an L2-regularized logistic regression on standardized frozen features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _check(train_emb, train_y, test_emb, test_y)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    clf.fit(np.asarray(train_emb), np.asarray(train_y))
    return float(clf.score(np.asarray(test_emb), np.asarray(test_y)))
