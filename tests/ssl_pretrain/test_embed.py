from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_pretrain import embed
from ssl_pretrain.backbones import build_backbone

from .conftest import blobs


@pytest.fixture
def encoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_backbone("cnn_small", 16).train()


def test_embeddings_are_deterministic_and_shaped(encoder: torch.nn.Module) -> None:
    images, _ = blobs(10, 16)
    a = embed(encoder, images, batch_size=4)
    b = embed(encoder, images, batch_size=10)
    assert a.shape == (10, 128) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # batching does not matter: eval mode
    assert np.array_equal(a, embed(encoder, images, batch_size=4))
    assert encoder.training  # the caller's mode is restored


def test_streams_into_a_memmap(encoder: torch.nn.Module, tmp_path: Path) -> None:
    images, _ = blobs(9, 16)
    out = embed(encoder, images, batch_size=4, out=tmp_path / "e.npy")
    assert isinstance(out, np.memmap)
    np.testing.assert_array_equal(np.load(tmp_path / "e.npy"), embed(encoder, images, batch_size=4))


def test_resizes_to_the_encoder_size(encoder: torch.nn.Module) -> None:
    images, _ = blobs(3, 24)
    assert embed(encoder, images).shape == (3, 128)


def test_bad_arguments(encoder: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        embed(encoder, blobs(2, 16)[0], batch_size=0)
    with pytest.raises(ValueError, match="the image pool is empty"):
        embed(encoder, np.zeros((0, 16, 16, 3), np.uint8))
