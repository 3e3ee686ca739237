"""evaluate() agrees with scikit-learn's metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from al_engine.metrics import evaluate


def test_matches_sklearn():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 4, 200)
    p = np.where(rng.random(200) < 0.7, t, rng.integers(0, 4, 200))
    out = evaluate(t, p, 5)  # class 4 never occurs
    json.dumps(out)
    assert out["n"] == 200
    assert out["accuracy"] == pytest.approx(accuracy_score(t, p))
    assert out["macro_f1"] == pytest.approx(f1_score(t, p, average="macro"))
    assert out["per_class_recall"][:4] == pytest.approx(recall_score(t, p, average=None).tolist())
    assert out["per_class_recall"][4] is None
    assert out["confusion"] == confusion_matrix(t, p, labels=range(5)).tolist()


def test_bad_inputs():
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        evaluate([0, 1, 1], [0, 1], 2)
    with pytest.raises(ValueError, match="outside 0..1"):
        evaluate([0, 2], [0, 1], 2)
