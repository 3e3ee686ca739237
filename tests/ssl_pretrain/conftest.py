from __future__ import annotations

import numpy as np
import pytest


def blobs(n: int = 32, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two visually distinct classes: dark-left/bright-right stripes vs the reverse, with noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.integers(0, 60, size=(n, size, size, 3)).astype(np.int16)
    half = size // 2
    x[y == 0, :, half:] += 160
    x[y == 1, :, :half] += 160
    x[y == 1, ..., 2] += 30
    return np.clip(x, 0, 255).astype(np.uint8), y


@pytest.fixture
def toy() -> tuple[np.ndarray, np.ndarray]:
    return blobs()
