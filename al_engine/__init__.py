"""Quarry's active-learning engine: query strategies, classifier heads and a simulation lab.

Pure numpy/torch: arrays in, arrays out. Strategies are looked up by name::

    from al_engine import get_strategy
    sel = get_strategy("margin").select(100, probs=p, labeled_mask=mask, random_state=0)
    sel.indices, sel.scores
"""

# importing a strategy module registers its strategies
from al_engine import (  # noqa: F401
    badge,
    committee,
    coreset,
    density,
    hybrid,
    model_change,
    ranked_batch,
    typiclust,
    uncertainty,
)
from al_engine.base import EmptyPoolError, PoolExhaustedError, Selection, Strategy
from al_engine.registry import (
    STRATEGIES,
    StrategyInfo,
    default_strategy,
    get_strategy,
    validate_params,
)

# the order forms and reports list them in: baseline, uncertainty, committee, embeddings, hybrids
_ORDER = (
    "random", "least_confident", "margin", "entropy", "vote_entropy", "consensus_entropy",
    "max_disagreement", "bald", "coreset", "density_weighted", "typiclust", "badge",
    "expected_model_change", "hybrid", "ranked_batch",
)  # fmt: skip
_infos = dict(STRATEGIES)
STRATEGIES.clear()
STRATEGIES.update({name: _infos.pop(name) for name in _ORDER if name in _infos})
STRATEGIES.update(_infos)
del _infos

__all__ = [
    "STRATEGIES",
    "EmptyPoolError",
    "PoolExhaustedError",
    "Selection",
    "Strategy",
    "StrategyInfo",
    "default_strategy",
    "get_strategy",
    "validate_params",
]
