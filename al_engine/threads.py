"""Intra-op threads: one for small problems and on a busy CPU, all of them otherwise.

torch's thread pool makes threads wait on each other at every op. For small tensors that wait
dominates (a 100-row L-BFGS step is ~10x slower with 2 threads than with 1), and on an
oversubscribed CPU (load average >= cores) even large matrix products run faster on one thread.
``torch.set_num_threads`` is process-wide: the previous value is restored on exit (the engine runs
in worker processes, one task at a time).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["SMALL_ELEMENTS", "cpu_busy", "threads_for"]

SMALL_ELEMENTS = 1 << 20


def cpu_busy() -> bool:
    """True when the 1-minute load average is at least the number of CPUs."""
    try:
        return os.getloadavg()[0] >= (os.cpu_count() or 1)
    except OSError:  # no load average on this platform
        return False


@contextmanager
def threads_for(n_elements: int) -> Iterator[None]:
    """One intra-op thread below ``SMALL_ELEMENTS`` numbers or on a busy CPU; else unchanged."""
    before = torch.get_num_threads()
    if before == 1 or (n_elements >= SMALL_ELEMENTS and not cpu_busy()):
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
