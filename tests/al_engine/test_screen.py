"""The float32 screen picks exactly what float64 ranking picks; chunks on threads change nothing."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from al_engine import chunks, get_strategy, screen, threads, uncertainty
from al_engine.base import rank_top
from al_engine.committee import COMMITTEE, kl_disagreement, vote_entropy
from al_engine.uncertainty import UNCERTAINTY
from tests.al_engine.paths import engine_path


def _tied_probs(rng, shape, levels=4):
    """Probabilities on a coarse grid: many rows share a score exactly, and some are near-ties."""
    raw = rng.integers(0, levels, size=shape).astype(np.float64)
    raw[..., 0] += 1.0
    raw += rng.random(shape) * 1e-7 * (rng.random(shape[:-1])[..., None] < 0.3)
    return raw / raw.sum(axis=-1, keepdims=True)


def _direct(measure, data, pool, k, seed):
    tie_rng = None if seed is None else np.random.default_rng(seed)
    return rank_top(measure(torch.as_tensor(data)), torch.as_tensor(pool), k, tie_rng)


@pytest.mark.parametrize("seed", [None, 5])
@pytest.mark.parametrize("name", ["entropy", "margin", "least_confident"])
def test_uncertainty_screen_picks_the_float64_top_k(name, seed):
    rng = np.random.default_rng(0)
    probs = _tied_probs(rng, (3000, 6))
    mask = rng.random(3000) < 0.2
    probs[7] = np.nan  # ranked last on both paths
    for k in (1, 37, 500):
        want = _direct(UNCERTAINTY[name], probs, ~mask, k, seed)
        with engine_path("screened"):
            got = get_strategy(name).select(
                k, probs=probs, labeled_mask=mask, random_state=None if seed is None else seed
            )
        if seed is None:
            assert got.indices.tolist() == want[0].tolist()
        else:  # the seeded tie order draws over a smaller candidate set: same scores, same ties
            assert len(set(got.indices.tolist())) == k
        np.testing.assert_array_equal(got.scores, want[1])
        assert not mask[got.indices].any()


@pytest.mark.parametrize("name", ["consensus_entropy", "max_disagreement", "bald", "vote_entropy"])
def test_committee_screen_picks_the_float64_top_k(name):
    rng = np.random.default_rng(1)
    cp = _tied_probs(rng, (4, 2000, 5))
    mask = rng.random(2000) < 0.1
    cp[1, 11, 2] = np.nan
    for k in (1, 50, 400):
        want = _direct(COMMITTEE[name], cp, ~mask, k, None)
        with engine_path("screened"):
            got = get_strategy(name).select(k, committee_probs=cp, labeled_mask=mask)
        assert got.indices.tolist() == want[0].tolist()
        np.testing.assert_array_equal(got.scores, want[1])


def test_the_screen_keeps_rows_just_under_the_cut():
    # entropy falls with the row index; row 200 is row 1 moved 1e-9 towards uniform: it beats
    # row 1 by ~1e-12, far below what float32 can tell apart, and must still be second
    base = np.full((400, 3), 1 / 3)
    base[:, 0] += np.linspace(0.0, 0.3, 400)
    base /= base.sum(axis=1, keepdims=True)
    base[200] = base[1]
    base[200, 0] -= 1e-9
    base[200, 1] += 1e-9
    mask = np.zeros(400, bool)
    with engine_path("screened"):
        sel = get_strategy("entropy").select(2, probs=base, labeled_mask=mask)
    assert sel.indices.tolist() == [0, 200]
    assert sel.scores[1] > UNCERTAINTY["entropy"](torch.as_tensor(base[1:2])).item()


def test_vote_entropy_first_max_wins_ties_and_bad_rows_are_nan():
    cp = np.array(
        [
            [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.4, np.inf, 0.1]],
            [[0.1, 0.9, 0.0], [0.5, 0.25, 0.25], [0.0, 0.5, 0.5], [0.4, 0.5, 0.1]],
            [[0.0, 0.0, 1.0], [0.4, 0.4, 0.2], [0.0, 0.5, 0.5], [0.4, 0.5, 0.1]],
        ]
    )  # [3 members, 4 rows, 3 classes]
    got = vote_entropy(torch.as_tensor(cp)).numpy()
    votes = np.argmax(cp, axis=2)  # numpy: the first maximal class
    for row in range(3):
        p = np.bincount(votes[:, row], minlength=3) / 3
        p = p[p > 0]
        np.testing.assert_allclose(got[row], -(p * np.log(p)).sum(), rtol=1e-12, atol=1e-15)
    assert np.isnan(got[3])


def test_mean_kl_goes_through_the_screen():
    rng = np.random.default_rng(4)
    cp = rng.dirichlet(np.ones(4), size=(3, 1500))
    want = rank_top(
        kl_disagreement(torch.as_tensor(cp), "mean"), torch.ones(1500, dtype=torch.bool), 30, None
    )
    with engine_path("screened"):
        got = get_strategy("max_disagreement", reduce="mean").select(
            30, committee_probs=cp, labeled_mask=np.zeros(1500, bool)
        )
    assert got.indices.tolist() == want[0].tolist()


def test_chunks_on_threads_give_the_serial_result_and_raise_its_errors(monkeypatch):
    x = torch.randn(1000, 7, dtype=torch.float64)
    serial = chunks.map_rows(lambda t: t.exp().sum(dim=1), x, chunk=64)
    monkeypatch.setattr(chunks, "row_workers", lambda n_elements, device: 3)
    threaded = chunks.map_rows(lambda t: t.exp().sum(dim=1), x, chunk=64)
    assert torch.equal(serial, threaded)

    def bad(t):
        if t.shape[0] < 64:
            raise ValueError("the last chunk is short")
        return t.sum(dim=1)

    with pytest.raises(ValueError, match="short"):
        chunks.map_rows(bad, x, chunk=64)


def test_row_workers_only_for_large_cpu_passes_on_one_intra_op_thread(monkeypatch):
    monkeypatch.setattr(threads, "cpu_busy", lambda: False)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    cpu, big = torch.device("cpu"), threads.SMALL_ELEMENTS
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert threads.row_workers(big, cpu) == 2
        assert threads.row_workers(big - 1, cpu) == 1
        assert threads.row_workers(big, torch.device("cuda")) == 1
        monkeypatch.setattr(threads, "cpu_busy", lambda: True)
        assert threads.row_workers(big, cpu) == 1
        monkeypatch.setattr(threads, "cpu_busy", lambda: False)
        torch.set_num_threads(2)
        assert threads.row_workers(big, cpu) == 1
    finally:
        torch.set_num_threads(before)


ERROR_BOUND = screen.TERM_ERROR


def _erring_measure(x: torch.Tensor) -> torch.Tensor:
    """Column 0 exactly in float64; in float32 off by up to 0.99 of the allowed error bound."""
    score = x[:, 0].to(torch.float64)
    if x.dtype == torch.float32:
        score = score + x[:, 1].to(torch.float64) * 0.99 * ERROR_BOUND
    return score


@pytest.mark.parametrize("allowed", [True, False])
def test_rows_the_float32_score_puts_below_the_cut_are_still_found(allowed, monkeypatch):
    rng = np.random.default_rng(6)
    n = 5000
    x = np.empty((n, 2))
    x[:, 0] = rng.random(n) * 1e-4  # dense scores: float32 errors reorder the top
    x[:, 1] = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    data = torch.as_tensor(x)
    want = rank_top(_erring_measure(data), torch.ones(n, dtype=torch.bool), 50, None)
    monkeypatch.setattr(screen, "SCREEN_MIN_ROWS", 0)
    if not allowed:  # a screen without the error margin loses rows: the check can fail
        monkeypatch.setattr(screen, "TERM_ERROR", 0.0)
    got = screen.top_k(_erring_measure, data, torch.ones(n, dtype=torch.bool), 50, None, terms=1)
    assert (got[0].tolist() == want[0].tolist()) is allowed


def test_a_chunked_pass_inside_a_chunk_runs_serially_instead_of_waiting_on_itself(monkeypatch):
    # every worker busy with an outer chunk: an inner pass queued behind them would never run
    monkeypatch.setattr(chunks, "row_workers", lambda n_elements, device: threads.MAX_ROW_WORKERS)
    x = torch.randn(64, 5, dtype=torch.float64)

    def inner(t):  # every outer chunk starts its own chunked pass
        return chunks.map_rows(lambda u: u.sum(dim=1), t, chunk=2)

    result = {}
    runner = threading.Thread(target=lambda: result.update(got=chunks.map_rows(inner, x, chunk=8)))
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), "the nested pass deadlocked"
    assert torch.allclose(result["got"], x.sum(dim=1))


@pytest.mark.parametrize("guarded", [True, False])
def test_margin_rows_outside_0_1_leave_the_float32_screen_for_exact_scores(guarded, monkeypatch):
    # top two entries near 1e6, 0.01 x step apart: margins 1 - 0.01 x step top the ranking,
    # and float32 (ulp 0.0625 there) cannot order them; only exact scores can
    rng = np.random.default_rng(8)
    n = 3000
    x = rng.dirichlet(np.ones(5), size=n)
    big = rng.choice(n, 40, replace=False)
    steps = rng.permutation(40)[:, None] * 0.01
    x[big] = np.concatenate([1e6 + steps, np.full((40, 1), 1e6), np.zeros((40, 3))], axis=1)
    data, pool = torch.as_tensor(x), torch.ones(n, dtype=torch.bool)
    want = rank_top(UNCERTAINTY["margin"](data), pool.clone(), 30, None)
    screen_fn = uncertainty.margin_float32
    if not guarded:  # the same float32 scores without the range check: the check can fail
        screen_fn = lambda p: uncertainty._margin_rows(p, torch.float32)  # noqa: E731
    monkeypatch.setattr(screen, "SCREEN_MIN_ROWS", 0)
    got = screen.top_k(UNCERTAINTY["margin"], data, pool, 30, None, terms=2, screen=screen_fn)
    assert (got[0].tolist() == want[0].tolist()) is guarded
    if guarded:
        np.testing.assert_array_equal(got[1], want[1])
        assert set(got[0].tolist()) & set(big.tolist())  # the case is exercised
