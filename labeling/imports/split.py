"""Holdout split: a random fraction of every class, reproducible from a seed."""

from __future__ import annotations

import random
from collections.abc import Mapping


def holdout_size(n: int, fraction: float) -> int:
    """Images of an ``n``-image class that go to the holdout split (rounded half up).

    A class keeps at least one image in the pool.
    """
    if n < 2 or fraction <= 0:
        return 0
    return min(int(n * fraction + 0.5), n - 1)


def holdout_picks(
    counts: Mapping[str | None, int], fraction: float, seed: int
) -> dict[str | None, set[int]]:
    """For each stratum (class folder, None for loose files), which ordinals are held out.

    Strata are visited in a fixed order, so the same counts and seed give the same picks.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"holdout must be a fraction in [0, 1), not {fraction}")
    rng = random.Random(seed)
    picks: dict[str | None, set[int]] = {}
    for stratum in sorted(counts, key=lambda s: (s is not None, s or "")):
        n = counts[stratum]
        picks[stratum] = set(rng.sample(range(n), holdout_size(n, fraction)))
    return picks
