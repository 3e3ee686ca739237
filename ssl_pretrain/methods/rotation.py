"""Rotation prediction: classify which of 0/90/180/270 degrees an image was rotated by.

Gidaris et al. 2018, "Unsupervised Representation Learning by Predicting Image Rotations",
https://arxiv.org/abs/1803.07728. Each sample gets its own random rotation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..augment import crop_flip_augment
from ..backbones import Encoder
from ..config import PretrainConfig
from .base import Method, mlp


def rotate_per_sample(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Rotate sample ``i`` of ``[n, C, H, W]`` (square images) by ``k[i] * 90`` degrees."""
    out = torch.empty_like(x)
    for quarter in range(4):
        chosen = k == quarter
        if chosen.any():
            out[chosen] = torch.rot90(x[chosen], quarter, dims=(2, 3))
    return out


class Rotation(Method):
    name = "rotation"
    description = "predict the rotation (0/90/180/270) of each image (Gidaris et al. 2018)"
    default_lr = 0.1

    def __init__(self, encoder: Encoder, config: PretrainConfig) -> None:
        super().__init__(encoder, config)
        self.head = mlp(encoder.dim, 256, 4)
        self.augment = crop_flip_augment(encoder.image_size, min_scale=0.3)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        x = self.augment(x)
        k = torch.randint(0, 4, (x.shape[0],), device=x.device)
        logits = self.head(self.encoder(rotate_per_sample(x, k)))
        return F.cross_entropy(logits.float(), k)
