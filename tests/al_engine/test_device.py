"""On CUDA, the strategies pick what they pick on CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import al_engine.base
from al_engine import STRATEGIES, get_strategy


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_cuda_and_cpu_agree(name, monkeypatch):
    rng = np.random.default_rng(0)
    n = 2000
    inputs = {
        "probs": rng.dirichlet(np.ones(5), size=n),
        "committee_probs": rng.dirichlet(np.ones(5), size=(3, n)),
        "embeddings": rng.standard_normal((n, 16)),
    }
    mask = np.zeros(n, bool)
    mask[:50] = True
    picks = {}
    for device in ("cpu", "cuda"):
        monkeypatch.setattr(al_engine.base, "default_device", lambda d=device: torch.device(d))
        sel = get_strategy(name).select(20, labeled_mask=mask, random_state=0, **inputs)
        picks[device] = sel.indices.tolist()
    assert picks["cpu"] == picks["cuda"]
