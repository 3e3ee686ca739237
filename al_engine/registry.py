"""Strategies by name: ``STRATEGIES``, ``register``, ``get_strategy`` and ``validate_params``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from al_engine import validation

if TYPE_CHECKING:
    from al_engine.base import Strategy

__all__ = [
    "STRATEGIES",
    "StrategyInfo",
    "default_strategy",
    "get_strategy",
    "register",
    "validate_params",
]

NEEDS = frozenset({"probs", "committee_probs", "embeddings"})


@dataclass(frozen=True)
class StrategyInfo:
    """What the UI and the workers need to know about a strategy, without building one."""

    name: str
    description: str
    needs: frozenset[str]
    cold_start: bool
    params: dict[str, dict]
    cls: type = field(repr=False, compare=False, default=object)


STRATEGIES: dict[str, StrategyInfo] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator adding a strategy to ``STRATEGIES`` under ``cls.name``."""
    if not cls.name or cls.name in STRATEGIES:
        raise ValueError(f"strategy name {cls.name!r} is empty or already registered")
    if not set(cls.needs) <= NEEDS:
        raise ValueError(f"{cls.name}: needs must be a subset of {sorted(NEEDS)}")
    validation.check_schema(cls.name, cls.params)
    STRATEGIES[cls.name] = StrategyInfo(
        name=cls.name,
        description=cls.description,
        needs=frozenset(cls.needs),
        cold_start=cls.cold_start,
        params=cls.params,
        cls=cls,
    )
    return cls


def _info(name: str) -> StrategyInfo:
    if not isinstance(name, str) or name not in STRATEGIES:
        valid = ", ".join(sorted(STRATEGIES))
        raise ValueError(f"unknown strategy {name!r}; valid strategies: {valid}")
    return STRATEGIES[name]


def get_strategy(name: str, **params: Any) -> Strategy:
    """Build the strategy registered as ``name`` with hyperparameters ``params``."""
    return _info(name).cls(**params)


def validate_params(name: str, params: dict | None) -> dict:
    """Cleaned parameters of strategy ``name`` with defaults filled in (ValueError naming the field)."""
    return validation.validate_params(name, params, schema=_info(name).params)


def default_strategy(*, batch_size: int, n_labeled: int) -> str:
    """The strategy to use when none is configured.

    No labels yet: ``typiclust`` (cold start). Batches: ``hybrid`` (top-k by uncertainty alone
    is redundant). One row at a time: ``margin``.
    """
    if n_labeled == 0:
        return "typiclust"
    return "hybrid" if batch_size > 1 else "margin"
