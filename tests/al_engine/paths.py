"""Run a test through each of the engine's ranking paths."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import patch

from al_engine import base, chunks, screen, topk, uncertainty

PATHS = ["direct", "screened"]


@contextmanager
def engine_path(name: str) -> Iterator[None]:
    """``direct``: every row scored in its own dtype, serially. ``screened``: the float32 screen
    for any pool size, every chunked pass (scores, screen, ranking) in chunks of a few rows
    spread over 2 threads, and every top-k through a sampled threshold."""
    if name == "direct":
        yield
        return
    with (
        patch.object(screen, "SCREEN_MIN_ROWS", 0),
        patch.object(screen, "SCREEN_CHUNK", 3),
        patch.object(uncertainty, "COLUMN_CHUNK", 4),
        patch.object(topk, "MIN_ROWS", 0),
        patch.object(topk, "SAMPLE_STEP", 2),
        patch.object(base, "RANK_CHUNK", 5),
        patch.object(chunks, "row_workers", lambda n_elements, device: 2),
    ):
        yield
