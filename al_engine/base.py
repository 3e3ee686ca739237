"""The strategy base class: input validation, NaN handling, top-k and reproducible tie-breaks.

A subclass owns only the math: either ``_score`` (one score per row, the base ranks them) or
``_select_pool`` (iterative strategies that build a batch pick by pick).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from al_engine.chunks import run_chunks
from al_engine.threads import threads_for
from al_engine.topk import all_set, top_unsorted
from al_engine.validation import validate_params

__all__ = [
    "EmptyPoolError",
    "Inputs",
    "PoolExhaustedError",
    "Selection",
    "Strategy",
    "default_device",
    "make_rng",
]

INPUT_HELP = {
    "probs": "probs (class probabilities, shape [n, c])",
    "committee_probs": "committee_probs (per-member class probabilities, shape [m, n, c])",
    "embeddings": "embeddings (feature vectors, shape [n, d])",
}


class EmptyPoolError(ValueError):
    """The inputs hold no rows at all."""


class PoolExhaustedError(ValueError):
    """Every row is already labeled: nothing is left to select."""


@dataclass(frozen=True)
class Selection:
    """Rows to label, best first, with their scores (higher = more wanted)."""

    indices: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        if self.indices.shape != self.scores.shape:
            raise ValueError("Selection.indices and Selection.scores differ in length")

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def default_device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_rng(random_state: Any) -> np.random.Generator:
    """A numpy Generator from None, an int seed or an existing Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (
        isinstance(random_state, int | np.integer) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}"
    )


@dataclass
class Inputs:
    """Validated inputs of one ``select`` call, as tensors on the working device."""

    n_rows: int
    labeled: torch.Tensor  # bool [N]
    pool: torch.Tensor  # bool [N], ~labeled
    device: torch.device
    # set (as tensors) exactly when the strategy needs them: Any keeps call sites free of casts
    probs: Any = None
    committee_probs: Any = None
    embeddings: Any = None
    bad_rows: torch.Tensor | None = None  # bool [N]: rows whose embeddings are not finite
    tie_rng: np.random.Generator | None = None  # None: ties go to the lowest row index


def _as_tensor(name: str, value: Any, ndim: int, device: torch.device) -> torch.Tensor:
    arr = value if isinstance(value, torch.Tensor) else np.asarray(value)
    if arr.ndim != ndim:
        raise ValueError(
            f"{INPUT_HELP[name]} must have {ndim} dimensions, got shape {tuple(arr.shape)}"
        )
    if isinstance(arr, np.ndarray):
        if arr.dtype.kind not in "fiu":
            raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}")
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)  # e.g. reversed views, which torch cannot wrap
    t = torch.as_tensor(arr)
    if t.dtype == torch.bool or not (t.is_floating_point() or t.dtype in _INT_DTYPES):
        raise ValueError(f"{name} must hold numbers, got dtype {t.dtype}")
    if not t.is_floating_point():
        t = t.to(torch.float64)
    elif t.dtype in (torch.float16, torch.bfloat16):
        t = t.to(torch.float32)
    return t.to(device)


_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


class Strategy:
    """Base class of every query strategy.

    ``__init__`` stores hyperparameters only (validated against ``params``); ``select`` validates
    the arrays, calls the subclass and returns a :class:`Selection`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    needs: frozenset[str] = frozenset()
    cold_start: ClassVar[bool] = False
    params: ClassVar[dict[str, dict]] = {}
    #: memory-bound element-wise scoring gains little from intra-op threads and loses a lot
    #: on a busy CPU, so it runs on one; matrix-product strategies set this to False
    elementwise: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        self.params_ = validate_params(self.name, params, schema=self.params)

    def __getattr__(self, name: str) -> Any:
        """Hyperparameters read as attributes (``self.beta``); only called for missing ones."""
        params = self.__dict__.get("params_", {})
        if name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params_.items())
        return f"{type(self).__name__}({args})"

    # -- public -------------------------------------------------------------------------------
    def select(
        self,
        n: int,
        *,
        probs: Any = None,
        committee_probs: Any = None,
        embeddings: Any = None,
        labeled_mask: Any,
        random_state: Any = None,
    ) -> Selection:
        """Pick up to ``n`` unlabeled rows, best first.

        Returns fewer than ``n`` rows only when fewer remain unlabeled. Rows whose inputs are not
        finite (NaN/inf) are ranked after every finite row and get the score ``-inf``.
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        rng = make_rng(random_state)
        with threads_for(0):  # checks are many small ops: one thread (see al_engine.threads)
            inputs = self._validate(probs, committee_probs, embeddings, labeled_mask)
            n_pool = int(torch.count_nonzero(inputs.pool))
        inputs.tie_rng = None if random_state is None else rng
        if n_pool == 0:
            raise PoolExhaustedError(f"all {inputs.n_rows} rows are labeled: the pool is exhausted")
        k = min(int(n), n_pool)
        size = sum(
            t.numel()
            for t in (inputs.probs, inputs.committee_probs, inputs.embeddings)
            if t is not None
        )
        with torch.no_grad(), threads_for(0 if self.elementwise else size):
            idx, scores = self._select_pool(k, inputs, rng)
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        scores = np.ascontiguousarray(scores, dtype=np.float64)
        return Selection(indices=idx, scores=scores)

    # -- for subclasses -----------------------------------------------------------------------
    def _score(self, inputs: Inputs) -> torch.Tensor:
        """One score per row (length N; higher = more wanted). Non-finite scores rank last."""
        raise NotImplementedError

    def _select_pool(
        self, k: int, inputs: Inputs, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        scores = self._score(inputs)
        if inputs.bad_rows is not None:
            scores = scores.masked_fill(inputs.bad_rows, float("nan"))
        return rank_top(scores, inputs.pool, k, inputs.tie_rng)

    def required_inputs(self) -> frozenset[str]:
        """Inputs this configured instance needs (hybrid's depend on its parameters)."""
        return type(self).needs

    # -- validation ---------------------------------------------------------------------------
    def _validate(
        self, probs: Any, committee_probs: Any, embeddings: Any, labeled_mask: Any
    ) -> Inputs:
        if labeled_mask is None:
            raise ValueError("labeled_mask is required (bool array [n], True = labeled)")
        mask = np.asarray(
            labeled_mask.cpu() if isinstance(labeled_mask, torch.Tensor) else labeled_mask
        )
        if mask.dtype != np.bool_:
            raise ValueError(f"labeled_mask must be a bool array, got dtype {mask.dtype}")
        if mask.ndim != 1:
            raise ValueError(f"labeled_mask must be 1-dimensional, got shape {mask.shape}")
        n_rows = int(mask.shape[0])
        if n_rows == 0:
            raise EmptyPoolError("the pool is empty: labeled_mask has no rows")
        device = default_device()
        labeled = torch.as_tensor(mask).to(device)
        inputs = Inputs(n_rows=n_rows, labeled=labeled, pool=~labeled, device=device)
        given = {"probs": probs, "committee_probs": committee_probs, "embeddings": embeddings}
        for name in sorted(self.required_inputs()):
            if given[name] is None:
                raise ValueError(f"strategy {self.name!r} needs {INPUT_HELP[name]}; got None")
        if probs is not None and "probs" in self.required_inputs():
            t = _as_tensor("probs", probs, 2, device)
            _check_rows("probs", t.shape[0], n_rows)
            if t.shape[1] < 1:
                raise ValueError("probs must have at least one class column")
            check_probabilities("probs", t, axis=1)
            inputs.probs = t
        if committee_probs is not None and "committee_probs" in self.required_inputs():
            t = _as_tensor("committee_probs", committee_probs, 3, device)
            if t.shape[0] < 1:
                raise ValueError("committee_probs must hold at least one member")
            _check_rows("committee_probs", t.shape[1], n_rows, axis=1)
            check_probabilities("committee_probs", t, axis=2)
            inputs.committee_probs = t
        if embeddings is not None and "embeddings" in self.required_inputs():
            t = _as_tensor("embeddings", embeddings, 2, device)
            _check_rows("embeddings", t.shape[0], n_rows)
            if t.shape[1] < 1:
                raise ValueError("embeddings must have at least one column")
            # one summing pass first (a bool mask of every entry costs ~10x more); rows are
            # looked at only when the sum is not finite (a NaN/inf, or a sum that overflowed)
            if not bool(torch.isfinite(t.sum())):
                bad = ~torch.isfinite(t).all(dim=1)
                if bool(bad.any()):
                    t = t.masked_fill(bad[:, None], 0.0)
                    inputs.bad_rows = bad
            inputs.embeddings = t
        return inputs


def _check_rows(name: str, got: int, expected: int, axis: int = 0) -> None:
    if got != expected:
        raise ValueError(
            f"{name} has {got} rows on axis {axis} but labeled_mask has {expected}; they must match"
        )


PROB_SAMPLE = 4096
PROB_TOL = 1e-3


def check_probabilities(name: str, t: torch.Tensor, axis: int) -> None:
    """Reject inputs that are not probability rows (negative, or not summing to 1).

    Checks an evenly spaced sample of at most ``PROB_SAMPLE`` rows, so the cost is constant;
    non-finite rows are skipped (they are ranked last, not rejected).
    """
    n = t.shape[axis - 1]
    step = max(1, n // PROB_SAMPLE)
    sample = t.narrow(axis - 1, 0, n).index_select(
        axis - 1, torch.arange(0, n, step, device=t.device)
    )
    sums = sample.sum(dim=axis)
    ok = torch.isfinite(sums)
    lows = sample.amin(dim=axis)
    bad = ok & ((sums - 1.0).abs() > PROB_TOL)
    if bool(bad.any()):
        raise ValueError(
            f"{name} must hold probabilities that sum to 1 over the classes; a row sums to "
            f"{float(sums[bad][0]):.4g} (pass softmax outputs, not logits)"
        )
    if bool((ok & (lows < 0)).any()):
        raise ValueError(f"{name} must hold probabilities >= 0; found {float(lows[ok].min()):.4g}")


def tie_order(candidates: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """Secondary sort key among equal scores: row index, or a seeded shuffle."""
    if rng is None:
        return candidates
    return rng.permutation(candidates.shape[0])


#: rows per chunk when cleaning and ranking a score vector: bounded temporaries (a top-k over
#: one large vector allocates a buffer of its size, page-faulted in on every call)
RANK_CHUNK = 1 << 17


def _clean_top(
    score_rows: Callable[[int, int], torch.Tensor],
    n: int,
    pool: torch.Tensor,
    k: int,
    *,
    chunk: int = RANK_CHUNK,
    n_elements: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best pool rows (values and rows, best first) of the scores that
    ``score_rows(start, stop)`` returns chunk by chunk (a tensor it may overwrite: non-finite
    and non-pool scores become ``-inf`` in place). Chunks run on the row workers; the global
    top k lies in the union of the chunks' top k."""
    neg_inf = float("-inf")
    masked = not all_set(pool)
    tops: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def one(start: int, stop: int) -> None:
        part = score_rows(start, stop).nan_to_num_(nan=neg_inf, posinf=neg_inf, neginf=neg_inf)
        if masked:
            part.masked_fill_(~pool[start:stop], neg_inf)
        vals, idx = top_unsorted(part, min(k, stop - start))
        tops[start] = (vals, idx + start)

    run_chunks(one, n, chunk, max(n, n_elements), pool.device)
    vals = torch.cat([tops[start][0] for start in sorted(tops)])
    rows = torch.cat([tops[start][1] for start in sorted(tops)])
    best, where = torch.topk(vals, k, sorted=True)
    return best, rows[where]


def _ordered(cand: np.ndarray, cand_val: np.ndarray, k: int, rng: np.random.Generator | None):
    order = np.lexsort((cand, tie_order(cand, rng), -cand_val))[:k]
    return cand[order], cand_val[order]


def rank_top(
    scores: torch.Tensor, pool: torch.Tensor, k: int, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best pool rows by score (descending), ties broken by ``tie_order``.

    Non-finite scores rank after every finite one. ``scores`` is overwritten (non-finite and
    non-pool entries become ``-inf``): callers pass a tensor they own. Never builds more than
    O(N) memory.
    """
    neg_inf = float("-inf")
    n = scores.shape[0]
    vals, idx = _clean_top(lambda a, b: scores[a:b], n, pool, min(k + 1, n))
    if k < n and bool(vals[k] == vals[k - 1]):
        # ties straddle the cut: take every row tied with the k-th value as a candidate
        thr = vals[k - 1]
        idx = torch.nonzero(scores >= thr if thr > neg_inf else scores > neg_inf).squeeze(1)
    else:
        idx = idx[:k][vals[:k] > neg_inf]
    cand = idx.cpu().numpy()
    out_idx, out_val = _ordered(cand, scores[idx].cpu().numpy().astype(np.float64), k, rng)
    if out_idx.shape[0] < k:
        rest = torch.nonzero(pool & (scores == neg_inf)).squeeze(1).cpu().numpy()
        rest = rest[np.argsort(tie_order(rest, rng), kind="stable")][: k - out_idx.shape[0]]
        out_idx = np.concatenate([out_idx, rest])
        out_val = np.concatenate([out_val, np.full(rest.shape[0], -np.inf)])
    return out_idx, out_val
