"""expected_model_change equals the expected norm of a softmax head's gradient (autograd)."""

from __future__ import annotations

import numpy as np
import torch

from al_engine import get_strategy


def egl_by_autograd(probs: np.ndarray, emb: np.ndarray, bias: bool) -> np.ndarray:
    out = []
    logits = torch.log(torch.as_tensor(probs))
    for i in range(probs.shape[0]):
        total = 0.0
        for y in range(probs.shape[1]):
            # a head whose output at this row is logits[i]: W = 0 except bias = logits[i]
            w = torch.zeros(probs.shape[1], emb.shape[1], dtype=torch.float64, requires_grad=True)
            b = logits[i].clone().requires_grad_(True)
            h = torch.as_tensor(emb[i])
            loss = torch.nn.functional.cross_entropy((w @ h + b)[None], torch.tensor([y]))
            gw, gb = torch.autograd.grad(loss, [w, b])
            sq = (gw**2).sum() + ((gb**2).sum() if bias else 0.0)
            total += probs[i, y] * float(sq.sqrt())
        out.append(total)
    return np.asarray(out)


def test_matches_autograd():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=12)
    emb = rng.standard_normal((12, 3))
    for bias in (True, False):
        sel = get_strategy("expected_model_change", bias=bias).select(
            12, probs=probs, embeddings=emb, labeled_mask=np.zeros(12, bool)
        )
        np.testing.assert_allclose(
            sel.scores, egl_by_autograd(probs, emb, bias)[sel.indices], rtol=1e-9
        )
