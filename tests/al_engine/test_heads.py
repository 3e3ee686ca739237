"""Classifier heads: the linear head is scikit-learn's logistic regression; seeds reproduce."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from al_engine import heads


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x.astype(np.float32), y


def test_linear_head_matches_sklearn_logistic_regression(digits):
    x, y = digits
    head = heads.train_head(x[:200], y[:200], n_classes=10, epochs=300)
    scaler = StandardScaler().fit(x[:200])
    ref = LogisticRegression(C=1.0, max_iter=2000, tol=1e-8).fit(scaler.transform(x[:200]), y[:200])
    ours = head.predict_proba(x[1000:])
    theirs = ref.predict_proba(scaler.transform(x[1000:]))
    assert ours.dtype == np.float32 and ours.shape == (797, 10)
    assert np.abs(ours - theirs).max() < 0.02
    assert (ours.argmax(1) == theirs.argmax(1)).mean() > 0.995


def test_mlp_is_deterministic_per_seed_and_learns(digits):
    x, y = digits
    a = heads.train_head(x[:300], y[:300], n_classes=10, kind="mlp", seed=1, epochs=50)
    b = heads.train_head(x[:300], y[:300], n_classes=10, kind="mlp", seed=1, epochs=50)
    c = heads.train_head(x[:300], y[:300], n_classes=10, kind="mlp", seed=2, epochs=50)
    assert np.array_equal(a.predict_proba(x), b.predict_proba(x))
    assert not np.array_equal(a.predict_proba(x), c.predict_proba(x))
    assert (a.predict(x[1000:]) == y[1000:]).mean() > 0.85


def test_global_torch_random_state_is_untouched(digits):
    x, y = digits
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    heads.train_head(x[:50], y[:50], n_classes=10, kind="mlp", epochs=5)
    assert torch.equal(torch.rand(3), expected)


def test_module_maps_raw_embeddings_to_logits(digits):
    x, y = digits
    head = heads.train_head(x[:100], y[:100], n_classes=10)
    logits = head.module()(torch.as_tensor(x[:5]))
    np.testing.assert_allclose(
        torch.softmax(logits, 1).detach().numpy(), head.predict_proba(x[:5]), atol=1e-6
    )


def test_committee_members_differ_and_average(digits):
    x, y = digits
    com = heads.train_committee(x[:100], y[:100], n_classes=10, members=4, seed=0)
    p = com.predict_proba(x[:20])
    assert p.shape == (4, 20, 10) and len(com) == 4
    assert not np.allclose(p[0], p[1])
    np.testing.assert_allclose(com.mean_proba(x[:20]), p.mean(axis=0), atol=1e-7)
    again = heads.train_committee(x[:100], y[:100], n_classes=10, members=4, seed=0)
    assert np.array_equal(again.predict_proba(x[:20]), p)


def test_save_and_load_round_trip(tmp_path, digits):
    x, y = digits
    head = heads.train_head(x[:80], y[:80], n_classes=10, kind="mlp", epochs=10)
    com = heads.train_committee(x[:80], y[:80], n_classes=10, members=2)
    heads.save(head, tmp_path / "h" / "head.pt")
    heads.save(com, tmp_path / "com.pt")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["com.pt", "head.pt"]
    np.testing.assert_array_equal(
        heads.load(tmp_path / "h" / "head.pt").predict_proba(x), head.predict_proba(x)
    )
    loaded = heads.load(tmp_path / "com.pt")
    assert isinstance(loaded, heads.Committee)
    np.testing.assert_array_equal(loaded.predict_proba(x), com.predict_proba(x))
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a Quarry head checkpoint"):
        heads.load(tmp_path / "other.pt")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": np.zeros((3, 2)), "y": np.array([0, 1, 2]), "n_classes": 2}, "outside 0..1"),
        ({"X": np.zeros((3, 2)), "y": np.array([0, 1]), "n_classes": 2}, "3 labels"),
        ({"X": np.zeros(3), "y": np.array([0, 1, 1]), "n_classes": 2}, "2-dimensional"),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0, int), "n_classes": 2}, "zero labeled rows"),
        ({"X": np.full((2, 2), np.nan), "y": np.array([0, 1]), "n_classes": 2}, "NaN"),
        ({"X": np.zeros((2, 2)), "y": np.array([0.5, 1.0]), "n_classes": 2}, "integer class ids"),
        (
            {"X": np.zeros((2, 2)), "y": np.array([0, 1]), "n_classes": 2, "kind": "svm"},
            "kind must be",
        ),
    ],
)
def test_bad_inputs(kwargs, message):
    x, y = kwargs.pop("X"), kwargs.pop("y")
    with pytest.raises(ValueError, match=message):
        heads.train_head(x, y, **kwargs)
