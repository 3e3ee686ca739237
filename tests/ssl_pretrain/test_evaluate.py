from __future__ import annotations

import numpy as np
import pytest

from ssl_pretrain.evaluate import knn_accuracy, linear_probe_accuracy


def _reference_knn(train, train_y, test, test_y, k, t):  # noqa: ANN001, ANN202
    train = train / np.linalg.norm(train, axis=1, keepdims=True)
    test = test / np.linalg.norm(test, axis=1, keepdims=True)
    correct = 0
    for row, truth in zip(test, test_y, strict=True):
        sim = train @ row
        top = np.argsort(-sim)[:k]
        votes = np.zeros(train_y.max() + 1)
        for i in top:
            votes[train_y[i]] += np.exp(sim[i] / t)
        correct += int(votes.argmax() == truth)
    return correct / len(test)


def test_knn_matches_a_plain_reference() -> None:
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(60, 5)), rng.normal(size=(25, 5))
    train_y, test_y = rng.integers(0, 3, 60), rng.integers(0, 3, 25)
    for k, t in ((5, 0.1), (20, 0.5)):
        ours = knn_accuracy(train, train_y, test, test_y, k=k, t=t, chunk=7)
        assert ours == pytest.approx(_reference_knn(train, train_y, test, test_y, k, t))


def test_separable_clusters_score_perfectly() -> None:
    rng = np.random.default_rng(1)
    centers = np.eye(4) * 10
    y = rng.integers(0, 4, 200)
    x = centers[y] + rng.normal(size=(200, 4))
    assert knn_accuracy(x[:150], y[:150], x[150:], y[150:]) == 1.0
    assert linear_probe_accuracy(x[:150], y[:150], x[150:], y[150:]) == 1.0


def test_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="same number of rows"):
        knn_accuracy(np.zeros((3, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1))
    with pytest.raises(ValueError, match="different widths"):
        knn_accuracy(np.ones((3, 2)), np.zeros(3), np.ones((1, 3)), np.zeros(1))
