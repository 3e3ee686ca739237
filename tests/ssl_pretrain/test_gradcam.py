from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_pretrain import gradcam
from ssl_pretrain.backbones import build_backbone

from .conftest import blobs


@pytest.mark.parametrize("backbone", ["cnn_small", "vit_tiny"])
def test_maps_are_image_sized_in_unit_range_and_depend_on_the_class(backbone: str) -> None:
    torch.manual_seed(0)
    encoder = build_backbone(backbone, 16)
    head = torch.nn.Linear(encoder.dim, 3)
    images, _ = blobs(4, 16)
    maps0 = gradcam(encoder, head, images, [0, 0, 0, 0])
    maps1 = gradcam(encoder, head, images, np.array([1, 1, 1, 1]))
    assert maps0.shape == (4, 16, 16) and maps0.dtype == np.float32
    for maps in (maps0, maps1):
        assert maps.min() >= 0.0 and maps.max() <= 1.0
    assert not np.allclose(maps0, maps1)
    assert np.array_equal(maps0, gradcam(encoder, head, images, [0, 0, 0, 0]))  # deterministic


def test_map_follows_the_evidence() -> None:
    """A head that scores brightness: the map must sit on the bright half of the image."""
    torch.manual_seed(0)
    encoder = build_backbone("cnn_small", 16)
    images = np.zeros((1, 16, 16, 3), np.uint8)
    images[:, :, 8:] = 255
    with torch.no_grad():
        feats = encoder.eval()(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
    head = torch.nn.Linear(encoder.dim, 1, bias=False)
    with torch.no_grad():
        head.weight.copy_(feats.sign())
    heat = gradcam(encoder, head, images, [0])[0]
    assert heat[:, 8:].mean() > heat[:, :8].mean()


def test_bad_classes() -> None:
    encoder = build_backbone("cnn_small", 16)
    head = torch.nn.Linear(encoder.dim, 2)
    images, _ = blobs(2, 16)
    with pytest.raises(ValueError, match="got 2 images but 1 classes"):
        gradcam(encoder, head, images, [0])
    with pytest.raises(ValueError, match=r"classes must be in \[0, 1\]"):
        gradcam(encoder, head, images, [0, 5])
