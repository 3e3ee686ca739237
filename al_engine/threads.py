"""Intra-op threads: one for small problems and on a busy CPU, all of them otherwise.

torch's thread pool makes threads wait on each other at every op. For small tensors that wait
dominates (a 100-row L-BFGS step is ~10x slower with 2 threads than with 1), and on an
oversubscribed CPU (load average >= cores) even large matrix products run faster on one thread.
``torch.set_num_threads`` is process-wide: the previous value is restored on exit (the engine runs
in worker processes, one task at a time).

Element-wise scoring of a large pool is split the other way: row chunks go to a few Python
threads (torch releases the GIL inside each op), each op on one intra-op thread, so no op waits
on another thread; see ``row_workers``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["MAX_ROW_WORKERS", "SMALL_ELEMENTS", "cpu_busy", "row_workers", "threads_for"]

SMALL_ELEMENTS = 1 << 20
MAX_ROW_WORKERS = 4


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


def row_workers(n_elements: int, device: torch.device) -> int:
    """Python threads for a chunked element-wise pass: the idle CPUs for a large CPU pass, else 1.

    Only when ops already run on one intra-op thread (inside ``threads_for``), so the two kinds of
    threading never multiply.
    """
    if device.type != "cpu" or n_elements < SMALL_ELEMENTS or torch.get_num_threads() != 1:
        return 1
    if cpu_busy():
        return 1
    return max(1, min(MAX_ROW_WORKERS, os.cpu_count() or 1))
