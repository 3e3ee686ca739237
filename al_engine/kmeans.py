"""k-means++ seeding and Lloyd's k-means in torch, blocked so memory stays O(n * k).

k-means++: Arthur & Vassilvitskii 2007, https://dl.acm.org/doi/10.5555/1283383.1283494
"""

from __future__ import annotations

import numpy as np
import torch

from al_engine.distances import min_sq_dist, sq_dist_block, sq_norms

__all__ = ["assign", "kmeans", "kmeans_pp"]


def kmeans_pp(x: torch.Tensor, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` distinct seeds: the first uniform, each next drawn with p ~ D^2."""
    n = x.shape[0]
    k = min(k, n)
    x_n2 = sq_norms(x)
    first = int(rng.integers(n))
    seeds = [first]
    first_d = sq_dist_block(x, x_n2, x[first : first + 1], x_n2[first : first + 1])[:, 0]
    mind = first_d.double().cpu().numpy()
    mind[first] = 0.0
    for _ in range(k - 1):
        total = mind.sum()
        if total <= 0:  # every remaining row coincides with a seed: take any unused row
            j = int(np.flatnonzero(~np.isin(np.arange(n), seeds))[0])
        else:
            j = int(np.searchsorted(np.cumsum(mind), rng.random() * total, side="right"))
            j = min(j, n - 1)
        seeds.append(j)
        d = sq_dist_block(x[j : j + 1], x_n2[j : j + 1], x, x_n2)[0].double().cpu().numpy()
        np.minimum(mind, d, out=mind)
        mind[j] = 0.0
    return np.asarray(seeds, dtype=np.int64)


def assign(x: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest center of each row and the squared distance to it."""
    d, idx = min_sq_dist(x, centers)
    return idx, d


def kmeans(
    x: torch.Tensor, k: int, rng: np.random.Generator, iters: int = 30, tol: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's algorithm from k-means++ seeds; returns (centers [k, d], labels [n]).

    An emptied cluster is re-seeded with the row farthest from its center.
    """
    n = x.shape[0]
    k = min(k, n)
    xf = x.float() if x.dtype != torch.float64 else x
    centers = xf[torch.as_tensor(kmeans_pp(xf, k, rng), device=x.device)].clone()
    labels = torch.zeros(n, dtype=torch.int64, device=x.device)
    prev = float("inf")
    for _ in range(iters):
        labels, d = assign(xf, centers)
        inertia = float(d.sum())
        sums = torch.zeros_like(centers).index_add_(0, labels, xf)
        counts = torch.bincount(labels, minlength=k).to(xf.dtype)
        empty = counts == 0
        centers = sums / counts.clamp_min(1)[:, None]
        if bool(empty.any()):
            far = torch.topk(d, int(empty.sum())).indices
            centers[empty] = xf[far]
        if prev - inertia <= tol * max(prev, 1e-12):
            break
        prev = inertia
    labels, _ = assign(xf, centers)
    return centers, labels
