"""Worker knobs, read lazily: Django settings first, then the environment, then a default.

Nothing here is read at import time, so tests and worker processes may set them late.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def knob(name: str, default: T, cast: Callable[[str], T]) -> T:
    from django.conf import settings

    value = getattr(settings, name, None)
    if value is not None:
        return cast(value)
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a valid value: {exc}") from exc


def lease_seconds() -> float:
    """How long a job's lease lasts without a heartbeat before the reaper may take it back."""
    return knob("QUARRY_JOB_LEASE_SECONDS", 120.0, float)


def heartbeat_seconds() -> float:
    """How often a running job renews its lease (a quarter of the lease by default)."""
    return knob("QUARRY_JOB_HEARTBEAT_SECONDS", max(0.2, lease_seconds() / 4), float)


def retry_delay_seconds() -> float:
    """Delay before a failed attempt is retried, multiplied by the attempt number."""
    return knob("QUARRY_JOB_RETRY_DELAY_SECONDS", 10.0, float)


def resend_seconds() -> float:
    """A job still queued this long after it was sent is sent again by the reaper (its
    message may have been lost); duplicates are harmless, the claim decides."""
    return knob("QUARRY_JOB_RESEND_SECONDS", 900.0, float)


def device() -> str:
    """Torch device for encoder work: ``QUARRY_DEVICE``, else CUDA when present, else CPU."""
    name = knob("QUARRY_DEVICE", "", str)
    if name:
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
