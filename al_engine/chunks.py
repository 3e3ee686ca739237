"""Row-chunked evaluation: bounded temporaries for any pool size, chunks spread over idle CPUs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch

from al_engine.threads import MAX_ROW_WORKERS, row_workers

__all__ = ["CHUNK_ROWS", "map_rows", "run_chunks", "safe_log", "xlogx"]

CHUNK_ROWS = 1 << 16

_executor: ThreadPoolExecutor | None = None
_PREFIX = "al-rows"


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(MAX_ROW_WORKERS, thread_name_prefix=_PREFIX)
    return _executor


def run_chunks(
    fn: Callable[[int, int], None], n: int, chunk: int, n_elements: int, device: torch.device
) -> None:
    """Call ``fn(start, stop)`` for every chunk of ``range(n)``, on the row workers when the
    pass is large (see :func:`al_engine.threads.row_workers`); ``fn`` writes its own output."""
    starts = range(0, n, chunk)
    workers = min(row_workers(n_elements, device), len(starts))
    if threading.current_thread().name.startswith(_PREFIX):
        workers = 1  # a chunk of an outer pass: the workers are busy with its siblings

    def run_all(part: range) -> None:
        for start in part:
            fn(start, min(start + chunk, n))

    if workers <= 1:
        run_all(starts)
    else:  # every ``workers``-th chunk per thread; errors surface here
        for future in [_pool().submit(run_all, starts[i::workers]) for i in range(workers)]:
            future.result()


def map_rows(
    fn: Callable[..., torch.Tensor], *tensors: torch.Tensor, axis: int = 0, chunk: int = CHUNK_ROWS
) -> torch.Tensor:
    """Apply ``fn`` to row chunks of ``tensors`` (split along ``axis``), concatenating the outputs.

    ``fn`` maps ``b`` rows to an output whose first dimension is ``b``; it must be pure (chunks
    may run concurrently, see :func:`run_chunks`).
    """
    n = tensors[0].shape[axis]
    if n <= chunk:
        return fn(*tensors)

    def rows(start: int, stop: int) -> torch.Tensor:
        return fn(*(t.narrow(axis, start, stop - start) for t in tensors))

    first = rows(0, chunk)
    out = first.new_empty((n, *first.shape[1:]))
    out[:chunk] = first

    def fill(start: int, stop: int) -> None:
        if start:
            out[start:stop] = rows(start, stop)

    run_chunks(fill, n, chunk, sum(t.numel() for t in tensors), tensors[0].device)
    return out


def xlogx(p: torch.Tensor) -> torch.Tensor:
    """``p * log(p)`` with ``0 log 0 = 0``."""
    return torch.special.xlogy(p, p)


def safe_log(p: torch.Tensor) -> torch.Tensor:
    """``log(p)`` with zeros mapped to the log of the dtype's smallest normal (so ``0 * log 0 = 0``).

    One new tensor, then in place: fewer passes over memory than chained out-of-place ops.
    """
    return p.clamp_min(torch.finfo(p.dtype).tiny).log_()
