from __future__ import annotations

import pytest
import torch

from ssl_pretrain.backbones import BACKBONES, build_backbone, input_size


@pytest.mark.parametrize(
    ("name", "size", "dim"),
    [("cnn_small", 16, 128), ("resnet18", 32, 512), ("vit_tiny", 32, 192), ("vit_small", 16, 384)],
)
def test_backbone_maps_images_to_features(name: str, size: int, dim: int) -> None:
    encoder = BACKBONES[name](size).eval()
    with torch.no_grad():
        out = encoder(torch.rand(2, 3, size, size))
    assert out.shape == (2, dim) and encoder.dim == dim


def test_resnet_stem_depends_on_image_size() -> None:
    small = build_backbone("resnet18", 32).trunk.net
    large = build_backbone("resnet18", 96).trunk.net
    assert small.conv1.stride == (1, 1) and isinstance(small.maxpool, torch.nn.Identity)
    assert large.conv1.stride == (2, 2) and not isinstance(large.maxpool, torch.nn.Identity)


def test_vit_patch_is_sized_for_the_input() -> None:
    assert build_backbone("vit_tiny", 32).trunk.patch == 4
    assert build_backbone("vit_tiny", 64).trunk.patch == 8
    with pytest.raises(ValueError, match="not a multiple of the ViT patch size 4"):
        build_backbone("vit_tiny", 30)


def test_unknown_backbone_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="valid backbones: cnn_small, resnet18"):
        build_backbone("alexnet", 32)


@pytest.mark.parametrize(
    ("side", "backbone", "size"),
    [
        (8, "resnet18", 16),
        (16, "resnet18", 16),
        (17, "resnet18", 32),
        (100, "vit_tiny", 128),
        (500, "resnet18", 224),
        (224, "cnn_small", 64),
        (8, "cnn_small", 16),
    ],
)
def test_input_size_snaps_up_to_a_standard_size(side: int, backbone: str, size: int) -> None:
    assert input_size(side, backbone) == size
