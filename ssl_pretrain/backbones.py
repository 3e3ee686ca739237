"""Backbones by name: each factory takes the image size and returns an :class:`Encoder`.

The encoder maps float images in [0, 1], ``[n, 3, H, W]``, to features ``[n, d]``; it owns its
input normalization, so callers never need to know the statistics it was trained with.

- ``resnet18`` / ``resnet50``: torchvision ResNets (He et al. 2015, https://arxiv.org/abs/1512.03385).
  For inputs <= 64 px the stem is the small-image one of SimCLR's CIFAR recipe: a 3x3 stride-1
  convolution and no max-pool (Chen et al. 2020, https://arxiv.org/abs/2002.05709, appendix B.9).
- ``vit_tiny`` / ``vit_small``: torchvision's VisionTransformer (Dosovitskiy et al. 2020,
  https://arxiv.org/abs/2010.11929) with the patch sized for the input (4 px up to 32 px, 8 px up
  to 64 px, 16 px above); features are the mean of the final patch tokens.
- ``cnn_small``: four conv layers, cheap enough for the CPU demo.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torchvision.models import VisionTransformer, resnet18, resnet50

from .small_conv import patch_matmul_convs

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


class Encoder(nn.Module):
    """Normalization + trunk. ``cam_layer`` is the last conv layer (None for a ViT)."""

    def __init__(self, name: str, trunk: nn.Module, dim: int, image_size: int) -> None:
        super().__init__()
        self.name = name
        # 3x3 convolutions on maps of 2x2 or less run as matrix products on a CPU
        self.trunk = patch_matmul_convs(trunk)
        self.dim = dim
        self.image_size = image_size
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    @property
    def cam_layer(self) -> nn.Module | None:
        return getattr(self.trunk, "cam_layer", None)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self.get_buffer("mean"), self.get_buffer("std")
        return (x - mean.to(x.dtype)) / std.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.normalize(x))


class ResNetTrunk(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        net.fc = nn.Identity()

    @property
    def cam_layer(self) -> nn.Module:
        return self.net.get_submodule("layer4")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNNSmallTrunk(nn.Module):
    def __init__(self, width: int = 32) -> None:
        super().__init__()

        def block(cin: int, cout: int, stride: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            )

        self.features = nn.Sequential(
            block(3, width, 1),
            block(width, 2 * width, 2),
            block(2 * width, 4 * width, 2),
            block(4 * width, 4 * width, 1),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)

    @property
    def cam_layer(self) -> nn.Module:
        return self.features[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)


class ViTTrunk(nn.Module):
    """A torchvision ViT exposing its patch tokens, so MAE can encode the visible ones only."""

    def __init__(self, image_size: int, patch: int, layers: int, heads: int, dim: int) -> None:
        super().__init__()
        if image_size % patch:
            raise ValueError(
                f"image size {image_size} is not a multiple of the ViT patch size {patch}"
            )
        self.patch = patch
        self.vit = VisionTransformer(
            image_size=image_size,
            patch_size=patch,
            num_layers=layers,
            num_heads=heads,
            hidden_dim=dim,
            mlp_dim=4 * dim,
        )
        self.vit.heads = nn.Identity()
        self.n_patches = (image_size // patch) ** 2

    def patch_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Embedded patches plus position, ``[n, L, D]`` (no class token)."""
        tokens = self.vit._process_input(x)
        return tokens + self.vit.encoder.pos_embedding[:, 1:]

    def encode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Run the transformer on ``[n, l, D]`` tokens (any subset); returns them without class."""
        cls = self.vit.class_token + self.vit.encoder.pos_embedding[:, :1]
        x = torch.cat([cls.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        x = self.vit.encoder.ln(self.vit.encoder.layers(self.vit.encoder.dropout(x)))
        return x[:, 1:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_tokens(self.patch_tokens(x)).mean(dim=1)


def _small_stem(net: nn.Module) -> None:
    net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()


def _resnet18(image_size: int) -> Encoder:
    net = resnet18(weights=None)
    if image_size <= 64:
        _small_stem(net)
    return Encoder("resnet18", ResNetTrunk(net), 512, image_size)


def _resnet50(image_size: int) -> Encoder:
    net = resnet50(weights=None)
    if image_size <= 64:
        _small_stem(net)
    return Encoder("resnet50", ResNetTrunk(net), 2048, image_size)


def vit_patch_size(image_size: int) -> int:
    return 4 if image_size <= 32 else 8 if image_size <= 64 else 16


def _vit(name: str, layers: int, heads: int, dim: int) -> Callable[[int], Encoder]:
    def factory(image_size: int) -> Encoder:
        patch = vit_patch_size(image_size)
        if image_size < patch:
            raise ValueError(f"images of {image_size} px are smaller than the {patch} px patch")
        return Encoder(name, ViTTrunk(image_size, patch, layers, heads, dim), dim, image_size)

    return factory


def _cnn_small(image_size: int) -> Encoder:
    return Encoder("cnn_small", CNNSmallTrunk(32), 128, image_size)


BACKBONES: dict[str, Callable[[int], Encoder]] = {
    "resnet18": _resnet18,
    "resnet50": _resnet50,
    "vit_tiny": _vit("vit_tiny", 12, 3, 192),
    "vit_small": _vit("vit_small", 12, 6, 384),
    "cnn_small": _cnn_small,
}


# Square input sizes a pool is resized to when none is given, smallest first.
INPUT_SIZES = (16, 32, 64, 96, 128, 160, 224)
# The CPU backbone stays small whatever the images' size.
MAX_INPUT_SIZE = {"cnn_small": 64}


def input_size(side: int, backbone: str) -> int:
    """The default input size for images whose longer side is ``side``: the smallest standard
    size that holds it (at most 224, or the backbone's cap).

    Tiny images are brought up to 16 px: on scikit-learn's 8 px digits, SimCLR on ``cnn_small``
    at 16 px beat the pixels' kNN accuracy where at 8 px it only tied them (docs/ssl_pretrain.md).
    """
    cap = MAX_INPUT_SIZE.get(backbone, INPUT_SIZES[-1])
    size = next((s for s in INPUT_SIZES if s >= side), INPUT_SIZES[-1])
    return min(size, cap)


def build_backbone(name: str, image_size: int) -> Encoder:
    if name not in BACKBONES:
        raise ValueError(
            f"unknown backbone {name!r}; valid backbones: {', '.join(sorted(BACKBONES))}"
        )
    return BACKBONES[name](image_size)
