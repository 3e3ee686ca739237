"""density_weighted: cosine density in closed form, euclidean density equal to modAL's."""

from __future__ import annotations

import numpy as np
import torch
from modAL.density import information_density

from al_engine import get_strategy
from al_engine.density import cosine_density, euclidean_density
from al_engine.distances import BLOCK_ELEMENTS


def test_cosine_density_equals_the_pairwise_mean():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((70, 6))
    pool = rng.random(70) < 0.7
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    expected = ((1.0 + unit @ unit[pool].T) / 2.0).mean(axis=1)
    got = cosine_density(torch.as_tensor(x), torch.as_tensor(pool)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_euclidean_density_equals_modal_information_density(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((90, 4))
    expected = information_density(x, metric="euclidean")
    monkeypatch.setattr("al_engine.density.BLOCK_ELEMENTS", 90 * 7)  # force several blocks
    got = euclidean_density(torch.as_tensor(x), torch.ones(90, dtype=torch.bool)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-7)  # |x|^2+|u|^2-2x.u rounding
    assert BLOCK_ELEMENTS > 90 * 7


def test_score_is_uncertainty_times_density_power_beta():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 3))
    probs = rng.dirichlet(np.ones(3), size=40)
    mask = np.zeros(40, bool)
    mask[:10] = True
    ent = -(probs * np.log(probs)).sum(axis=1)
    dens = information_density(x[~mask], metric="euclidean")
    sel = get_strategy("density_weighted", metric="euclidean", beta=2.0).select(
        30, probs=probs, embeddings=x, labeled_mask=mask
    )
    expected = np.full(40, np.nan)
    expected[~mask] = ent[~mask] * dens**2
    np.testing.assert_allclose(sel.scores, expected[sel.indices], rtol=1e-7)


def test_an_outlier_loses_to_an_equally_uncertain_row_in_a_dense_region():
    x = np.array([[1.0, 0.0]] * 10 + [[-1.0, 0.1]])
    probs = np.full((11, 2), 0.5)
    probs[:9] = [0.9, 0.1]
    sel = get_strategy("density_weighted").select(
        11, probs=probs, embeddings=x, labeled_mask=np.zeros(11, bool)
    )
    assert sel.indices[0] == 9  # uncertain and dense
    assert sel.indices[-1] == 10  # as uncertain, but alone: behind even the confident dense rows
    plain = get_strategy("entropy").select(2, probs=probs, labeled_mask=np.zeros(11, bool))
    assert plain.indices.tolist() == [9, 10]
