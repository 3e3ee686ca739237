"""CUDA out-of-memory: halve the batch size and try again, down to a minimum."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from workers.context import JobError, StepContext

logger = logging.getLogger("quarry.workers")
T = TypeVar("T")


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError)


def with_batch_backoff(
    ctx: StepContext, what: str, batch_size: int, minimum: int, run: Callable[[int], T]
) -> T:
    """``run(batch_size)``; on CUDA OOM retry with half the batch, logged in the job's
    result, and fail clearly once halving would go below ``minimum``."""
    while True:
        try:
            return run(batch_size)
        except Exception as exc:
            if not _is_oom(exc):
                raise
            import torch

            torch.cuda.empty_cache()
            smaller = batch_size // 2
            if smaller < minimum:
                raise JobError(
                    f"{what}: CUDA ran out of memory at batch size {batch_size}, and halving it "
                    f"would go below the minimum of {minimum}. Choose a smaller backbone or "
                    f"image size, or run on a GPU with more memory."
                ) from exc
            message = (
                f"{what}: CUDA out of memory at batch size {batch_size}; retrying with {smaller}"
            )
            logger.warning("job %s: %s", ctx.job.pk, message)
            ctx.result.setdefault("oom_retries", []).append(
                {"step": what, "batch_size": batch_size, "retry_with": smaller}
            )
            ctx.progress(0.0, message, force=True)
            batch_size = smaller
