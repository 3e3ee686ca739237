"""What a step receives: the job, its project and configuration, progress and timings.

Steps report progress through :meth:`StepContext.progress`; that call also renews the
lease and is where a cancellation or a lost lease stops the step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from labeling.models import Job, LoopConfig, Project

logger = logging.getLogger("quarry.workers")


class JobError(Exception):
    """A failure whose message tells the user what to do; it is not retried."""


class JobCancelled(Exception):
    """Someone asked the job to stop."""


class LeaseLost(Exception):
    """Another worker holds the job now; this attempt stops and writes nothing more."""


@dataclass
class StepContext:
    job: Job
    lease: Any = None  # workers.leases.Lease, or None when run without one (benchmarks)
    result: dict[str, Any] = field(default_factory=dict)
    # Arrays and objects handed from one step to the next within one job.
    cache: dict[str, Any] = field(default_factory=dict)
    span: tuple[float, float] = (0.0, 1.0)
    min_interval: float = 0.5
    _last_write: float = 0.0

    @property
    def project(self) -> Project:
        return self.job.project

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params or {}

    @property
    def config(self) -> LoopConfig:
        if "loop_config" not in self.cache:
            from labeling.services.loop_config import loop_config_get

            self.cache["loop_config"] = loop_config_get(project=self.project)
        return self.cache["loop_config"]

    def check(self) -> None:
        if self.lease is None:
            return
        if self.lease.lost.is_set():
            raise LeaseLost(f"job {self.job.pk}: another worker holds it now")
        if self.lease.cancelled.is_set():
            raise JobCancelled(f"job {self.job.pk} was cancelled")

    def progress(self, fraction: float, message: str = "", *, force: bool = False) -> None:
        """Report progress within the current step (0..1); renews the lease."""
        self.check()
        low, high = self.span
        overall = low + (high - low) * min(max(float(fraction), 0.0), 1.0)
        now = time.monotonic()
        if not force and now - self._last_write < self.min_interval:
            return
        self._last_write = now
        if message:
            logger.info("job %s: %.0f%% %s", self.job.pk, overall * 100, message)
        if self.lease is not None:
            self.lease.renew(progress=overall, message=message[:500])
            self.check()

    def note(self, message: str) -> None:
        """A message worth keeping: logged and listed in the job's result."""
        logger.info("job %s: %s", self.job.pk, message)
        self.result.setdefault("notes", []).append(message)

    @contextmanager
    def phase(self, name: str, low: float, high: float) -> Iterator[None]:
        """Run one step between two progress marks and record its duration."""
        self.span = (low, high)
        self.progress(0.0, f"{name}: started", force=True)
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self.result.setdefault("timings", {})[name] = round(seconds, 4)
        self.progress(1.0, f"{name}: done in {seconds:.2f} s", force=True)
