"""The sampled-threshold top-k returns exactly torch.topk's values, whatever the ordering."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from al_engine import topk


def _orderings(n: int) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(3)
    base = torch.from_numpy(rng.random(n))
    periodic = torch.zeros(n, dtype=torch.float64)
    periodic[:: topk.SAMPLE_STEP] = 1.0  # the sample sees only the large values
    return {
        "random": base,
        "ascending": torch.sort(base).values,
        "descending": torch.sort(base, descending=True).values,
        "coarse ties": torch.from_numpy(rng.integers(0, 5, n).astype(np.float64)),
        "periodic": periodic,
        "with -inf": base.masked_fill(base < 0.9, float("-inf")),
        "all -inf": torch.full((n,), float("-inf"), dtype=torch.float64),
        "float32": base.to(torch.float32),
    }


@pytest.mark.parametrize("name", list(_orderings(8)))
@pytest.mark.parametrize("k", [1, 100, 2000])
def test_top_unsorted_matches_torch_topk(name, k):
    x = _orderings(1 << 16)[name]
    vals, rows = topk.top_unsorted(x, k)
    want = torch.topk(x, k).values
    assert torch.equal(torch.sort(vals, descending=True).values, want)
    assert torch.equal(x[rows], vals)
    assert rows.unique().shape[0] == k


def test_short_vectors_take_torch_topk_and_all_set_reads_masks():
    x = torch.arange(10, dtype=torch.float64)
    vals, rows = topk.top_unsorted(x, 3)
    assert sorted(vals.tolist()) == [7.0, 8.0, 9.0] and sorted(rows.tolist()) == [7, 8, 9]
    mask = torch.ones(1000, dtype=torch.bool)
    assert topk.all_set(mask)
    mask[999] = False
    assert not topk.all_set(mask)
    assert topk.all_set(mask[:999])  # a view
