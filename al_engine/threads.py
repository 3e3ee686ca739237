"""Intra-op threads for small problems.

On a busy CPU, torch's thread pool makes tiny tensor ops wait on each other (a 100-row L-BFGS
step gets ~10x slower with 2 threads than with 1). Small problems therefore run single-threaded;
large ones keep every thread. ``torch.set_num_threads`` is process-wide: the previous value is
restored on exit (the engine runs in worker processes, one task at a time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["SMALL_ELEMENTS", "threads_for"]

SMALL_ELEMENTS = 1 << 20


@contextmanager
def threads_for(n_elements: int) -> Iterator[None]:
    """One intra-op thread while working on fewer than ``SMALL_ELEMENTS`` numbers."""
    before = torch.get_num_threads()
    if n_elements >= SMALL_ELEMENTS or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
