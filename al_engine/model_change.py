"""Expected model change: expected gradient length of a softmax head (Settles et al. 2008).

https://papers.nips.cc/paper/3252-multiple-instance-active-learning

For a linear softmax head on embeddings ``h`` the cross-entropy gradient for label ``y`` is
``(p - e_y) h~^T`` (``h~`` = ``h`` with a 1 appended for the bias), whose norm is
``|p - e_y| |h~|`` with ``|p - e_y|^2 = |p|^2 - 2 p_y + 1``. The score is its expectation
under the model's own ``p``: ``|h~| sum_y p_y sqrt(|p|^2 - 2 p_y + 1)``.
"""

from __future__ import annotations

import torch

from al_engine.base import Inputs, Strategy
from al_engine.chunks import map_rows
from al_engine.registry import register

__all__ = ["ExpectedModelChange", "expected_gradient_length"]


def expected_gradient_length(
    probs: torch.Tensor, emb: torch.Tensor, bias: bool = True
) -> torch.Tensor:
    """Expected norm of the head's gradient if the row were labeled (labels drawn from p)."""

    def one(p: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        p2 = (p * p).sum(dim=1, keepdim=True)
        per_label = (p2 - 2.0 * p + 1.0).clamp_min(0.0).sqrt()
        h_norm = ((h * h).sum(dim=1) + (1.0 if bias else 0.0)).sqrt()
        return (p * per_label).sum(dim=1) * h_norm.to(p.dtype)

    return map_rows(one, probs, emb)


@register
class ExpectedModelChange(Strategy):
    """Expected gradient length (Settles, Craven & Ray 2008)."""

    name = "expected_model_change"
    description = (
        "Rows whose label would change the classifier most: expected length of the gradient of a "
        "softmax head on the embeddings."
    )
    needs = frozenset({"probs", "embeddings"})
    params = {
        "bias": {
            "type": "bool",
            "default": True,
            "help": "Count the head's bias in the gradient (the norm of [h, 1] instead of h).",
        }
    }

    def _score(self, inputs: Inputs) -> torch.Tensor:
        return expected_gradient_length(inputs.probs, inputs.embeddings, self.bias)
