"""Query by committee over per-member probabilities ``[m, n, c]``.

Vote and consensus entropy: Dagan & Engelson 1995, https://doi.org/10.1016/B978-1-55860-377-6.50027-X
KL max disagreement: McCallum & Nigam 1998, https://www.cs.cmu.edu/~knigam/papers/emactive-icml98.pdf
BALD: Houlsby et al. 2011, https://arxiv.org/abs/1112.5745 (and Gal et al. 2017 for MC dropout,
https://arxiv.org/abs/1703.02910): the members may be a bagged committee or dropout samples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from al_engine.base import Inputs, Strategy
from al_engine.chunks import map_rows, safe_log, xlogx
from al_engine.registry import register
from al_engine.screen import top_k
from al_engine.uncertainty import neg_xlogx_sum

__all__ = [
    "COMMITTEE",
    "bald",
    "consensus_entropy",
    "kl_disagreement",
    "vote_entropy",
]


COMMITTEE_CHUNK = 1 << 13  # rows per chunk: m x 8192 x c stays cache-sized


def _rows(fn, cp: torch.Tensor) -> torch.Tensor:
    return map_rows(fn, cp, axis=1, chunk=COMMITTEE_CHUNK)


def vote_entropy(cp: torch.Tensor) -> torch.Tensor:
    """Entropy of the members' hard votes (argmax, first class on ties); NaN rows give NaN."""
    m, _, c = cp.shape
    k = torch.arange(m + 1, dtype=torch.float64, device=cp.device) / m
    table = -xlogx(k).to(cp.dtype)  # entropy term of a class that got j of m votes

    def one(x: torch.Tensor) -> torch.Tensor:
        votes = x.max(dim=2).indices.T  # [b, m]: the first maximal class (faster than argmax)
        counts = torch.zeros(x.shape[1], c, dtype=torch.int64, device=x.device)
        counts.scatter_add_(1, votes, torch.ones_like(votes))
        out = table[counts].sum(dim=1)
        # votes hide NaN, so look for it: one flat pass over the chunk, rows only if it is off
        if not bool(torch.isfinite(x.sum())):
            out.masked_fill_(~torch.isfinite(x.sum(dim=2).sum(dim=0)), float("nan"))
        return out

    return _rows(one, cp)


def consensus_entropy(cp: torch.Tensor) -> torch.Tensor:
    """Entropy of the members' mean distribution."""
    return _rows(lambda x: neg_xlogx_sum(x.mean(dim=0), 1), cp)


def kl_disagreement(cp: torch.Tensor, reduce: str = "max") -> torch.Tensor:
    """KL divergence of each member from the consensus, reduced by max (modAL) or mean."""

    def one(x: torch.Tensor) -> torch.Tensor:
        log_q = safe_log(x.mean(dim=0))
        kl = safe_log(x).sub_(log_q).mul_(x).sum(dim=2)  # [m, b]
        return kl.amax(dim=0) if reduce == "max" else kl.mean(dim=0)

    return _rows(one, cp)


def bald(cp: torch.Tensor) -> torch.Tensor:
    """Mutual information between the label and the member: H(mean p) - mean H(p_m)."""

    def one(x: torch.Tensor) -> torch.Tensor:
        return neg_xlogx_sum(x.mean(dim=0), 1) - neg_xlogx_sum(x, 2).mean(dim=0)

    return _rows(one, cp)


COMMITTEE = {
    "vote_entropy": vote_entropy,
    "consensus_entropy": consensus_entropy,
    "max_disagreement": kl_disagreement,
    "bald": bald,
}


def screen_terms(name: str, m: int, c: int) -> int | None:
    """float32 rounding errors summed in one score of ``name`` (None: rank in float64 directly).

    A KL term ``p log q`` can reach ``m / e`` since ``q >= p / m``; vote entropy counts votes,
    which float32 would not make cheaper.
    """
    return {"consensus_entropy": c + m, "max_disagreement": c * (m + 2), "bald": c * (m + 2)}.get(
        name
    )


class _Committee(Strategy):
    needs = frozenset({"committee_probs"})

    def _score(self, inputs: Inputs) -> torch.Tensor:
        return self._measure()(inputs.committee_probs)

    def _measure(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return COMMITTEE[self.name]

    def _select_pool(self, k: int, inputs: Inputs, rng: np.random.Generator):
        cp = inputs.committee_probs
        terms = screen_terms(self.name, cp.shape[0], cp.shape[2])
        if terms is None:
            return super()._select_pool(k, inputs, rng)
        return top_k(self._measure(), cp, inputs.pool, k, inputs.tie_rng, terms=terms, axis=1)


@register
class VoteEntropy(_Committee):
    """Vote entropy (Dagan & Engelson 1995)."""

    name = "vote_entropy"
    description = "Rows where the committee's hard votes are most split (entropy of the votes)."


@register
class ConsensusEntropy(_Committee):
    """Consensus entropy (Settles 2009, section 3.2)."""

    name = "consensus_entropy"
    description = "Rows with the highest entropy of the committee's averaged probabilities."


@register
class MaxDisagreement(_Committee):
    """KL max disagreement (McCallum & Nigam 1998)."""

    name = "max_disagreement"
    description = (
        "Rows where members diverge most from the consensus (KL divergence; the largest member's "
        "by default, or the mean over members)."
    )
    params = {
        "reduce": {
            "type": "choice",
            "default": "max",
            "choices": ["max", "mean"],
            "help": "How to combine the members' KL divergences: max (as modAL) or mean.",
        }
    }

    def _measure(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda cp: kl_disagreement(cp, self.reduce)


@register
class Bald(_Committee):
    """BALD (Houlsby et al. 2011): https://arxiv.org/abs/1112.5745"""

    name = "bald"
    description = (
        "Bayesian active learning by disagreement: mutual information between the label and the "
        "model, from a committee or MC-dropout samples."
    )
