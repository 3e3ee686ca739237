"""What every strategy shares: input checks, pool errors, NaN handling and tie-breaking."""

from __future__ import annotations

import numpy as np
import pytest

from al_engine import STRATEGIES, EmptyPoolError, PoolExhaustedError, get_strategy

RNG = np.random.default_rng(0)
N = 60
INPUTS = {
    "probs": RNG.dirichlet(np.ones(4), size=N),
    "committee_probs": RNG.dirichlet(np.ones(4), size=(3, N)),
    "embeddings": RNG.standard_normal((N, 5)),
}


def _inputs(name: str) -> dict:
    strategy = get_strategy(name)
    return {k: v for k, v in INPUTS.items() if k in strategy.required_inputs()}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_contract_of_select(name):
    mask = np.zeros(N, bool)
    mask[::3] = True
    sel = get_strategy(name).select(7, labeled_mask=mask, random_state=1, **_inputs(name))
    assert sel.indices.dtype == np.int64 and sel.scores.dtype == np.float64
    assert len(sel) == 7 and len(set(sel.indices.tolist())) == 7
    assert not mask[sel.indices].any()
    again = get_strategy(name).select(7, labeled_mask=mask, random_state=1, **_inputs(name))
    assert sel.indices.tolist() == again.indices.tolist(), "same seed, same selection"


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_missing_input_is_named(name):
    needs = STRATEGIES[name].needs
    if not needs:
        return
    missing = sorted(needs)[0]
    given = {k: v for k, v in _inputs(name).items() if k != missing}
    with pytest.raises(ValueError, match=f"needs {missing}"):
        get_strategy(name).select(3, labeled_mask=np.zeros(N, bool), **given)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_pool_errors(name):
    with pytest.raises(PoolExhaustedError, match="exhausted"):
        get_strategy(name).select(3, labeled_mask=np.ones(N, bool), **_inputs(name))
    with pytest.raises(EmptyPoolError, match="empty"):
        empty = {
            k: v[..., :0, :] if k == "committee_probs" else v[:0] for k, v in _inputs(name).items()
        }
        get_strategy(name).select(3, labeled_mask=np.zeros(0, bool), **empty)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_more_than_the_pool_returns_the_whole_pool(name):
    mask = np.ones(N, bool)
    mask[[4, 9, 30]] = False
    sel = get_strategy(name).select(10, labeled_mask=mask, random_state=0, **_inputs(name))
    assert sorted(sel.indices.tolist()) == [4, 9, 30]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"probs": np.ones((N, 2)) / 2, "labeled_mask": np.zeros(N, int)}, "must be a bool array"),
        ({"probs": np.ones((N, 2)) / 2, "labeled_mask": np.zeros((N, 1), bool)}, "1-dimensional"),
        ({"probs": np.ones((N - 1, 2)) / 2, "labeled_mask": np.zeros(N, bool)}, "must match"),
        ({"probs": np.ones(N), "labeled_mask": np.zeros(N, bool)}, "must have 2 dimensions"),
        ({"probs": np.full((N, 2), 3.0), "labeled_mask": np.zeros(N, bool)}, "not logits"),
        ({"probs": np.array([[1.5, -0.5]] * N), "labeled_mask": np.zeros(N, bool)}, ">= 0"),
        ({"probs": np.array([["a", "b"]] * N), "labeled_mask": np.zeros(N, bool)}, "numbers"),
        ({"labeled_mask": np.zeros(N, bool)}, "needs probs"),
        ({"probs": np.ones((N, 2)) / 2, "labeled_mask": None}, "labeled_mask is required"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_strategy("entropy").select(3, **kwargs)


@pytest.mark.parametrize("n", [0, -1, 2.0, True, "3"])
def test_bad_n(n):
    with pytest.raises(ValueError, match="n must be a positive int"):
        get_strategy("random").select(n, labeled_mask=np.zeros(3, bool))


def test_bad_random_state():
    with pytest.raises(ValueError, match="random_state"):
        get_strategy("random").select(1, labeled_mask=np.zeros(3, bool), random_state="x")


def test_nan_and_inf_rows_rank_last():
    probs = np.array([[0.5, 0.5], [np.nan, 0.5], [0.9, 0.1], [np.inf, 0.0], [0.6, 0.4]])
    sel = get_strategy("entropy").select(5, probs=probs, labeled_mask=np.zeros(5, bool))
    assert sel.indices.tolist()[:3] == [0, 4, 2]
    assert sorted(sel.indices.tolist()[3:]) == [1, 3]
    assert np.all(np.isneginf(sel.scores[3:])) and np.all(np.isfinite(sel.scores[:3]))


def test_ties_go_to_the_lowest_row_without_a_seed_and_to_a_seeded_shuffle_with_one():
    probs = np.full((50, 2), 0.5)
    strategy = get_strategy("margin")
    plain = strategy.select(5, probs=probs, labeled_mask=np.zeros(50, bool))
    assert plain.indices.tolist() == [0, 1, 2, 3, 4]
    a = strategy.select(5, probs=probs, labeled_mask=np.zeros(50, bool), random_state=7)
    b = strategy.select(5, probs=probs, labeled_mask=np.zeros(50, bool), random_state=7)
    c = strategy.select(5, probs=probs, labeled_mask=np.zeros(50, bool), random_state=8)
    assert a.indices.tolist() == b.indices.tolist() != c.indices.tolist()


def test_ties_across_the_cut_keep_the_better_rows():
    probs = np.array([[0.5, 0.5], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4], [0.6, 0.4]])
    sel = get_strategy("margin").select(2, probs=probs, labeled_mask=np.zeros(5, bool))
    assert sel.indices.tolist() == [0, 2]


def test_random_is_uniform_over_the_pool_and_seeded():
    mask = np.zeros(10, bool)
    mask[:5] = True
    counts = np.zeros(10)
    for seed in range(400):
        sel = get_strategy("random").select(2, labeled_mask=mask, random_state=seed)
        counts[sel.indices] += 1
    assert counts[:5].sum() == 0
    assert counts[5:].min() > 120  # expected 160 each


def test_views_and_tensors_are_accepted():
    import torch

    probs = INPUTS["probs"]
    expected = get_strategy("entropy").select(
        5, probs=probs[::-1].copy(), labeled_mask=np.zeros(N, bool)
    )
    view = get_strategy("entropy").select(5, probs=probs[::-1], labeled_mask=np.zeros(N, bool))
    tensor = get_strategy("entropy").select(
        5, probs=torch.as_tensor(probs[::-1].copy()), labeled_mask=torch.zeros(N, dtype=torch.bool)
    )
    assert view.indices.tolist() == expected.indices.tolist() == tensor.indices.tolist()


def test_only_non_finite_embedding_rows_are_bad_even_when_the_sum_overflows():
    # the check sums every entry first: 1e308 + 1e308 overflows, yet every entry is finite
    x = np.full((4, 3), 1e308)
    strategy = get_strategy("coreset")
    assert strategy._validate(None, None, x, np.zeros(4, bool)).bad_rows is None
    x[2, 1] = np.nan
    x[3, 0] = -np.inf
    bad = strategy._validate(None, None, x, np.zeros(4, bool)).bad_rows
    assert bad.tolist() == [False, False, True, True]
