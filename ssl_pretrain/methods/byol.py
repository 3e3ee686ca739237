"""BYOL: an online network predicts a momentum (EMA) target network's projection of another view.

Grill et al. 2020, "Bootstrap Your Own Latent", https://arxiv.org/abs/2006.07733.
The target's momentum rises from 0.99 to 1 on a cosine schedule over training.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F

from ..augment import simclr_augment
from ..backbones import Encoder
from ..config import PretrainConfig
from .base import Method, mlp


def byol_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return 2 - 2 * F.cosine_similarity(p.float(), z.float(), dim=1).mean()


class BYOL(Method):
    name = "byol"
    description = "bootstrap: predict a momentum target's projection (Grill et al. 2020)"
    two_views = True
    base_momentum = 0.99

    def __init__(self, encoder: Encoder, config: PretrainConfig) -> None:
        super().__init__(encoder, config)
        hidden = 4096 if encoder.dim >= 2048 else 1024
        self.projector = mlp(encoder.dim, hidden, 256)
        self.predictor = mlp(256, hidden, 256)
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.augment = simclr_augment(self.view_size, grayscale=config.grayscale)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        views = torch.cat([self.augment(x), self.augment(x)])
        p1, p2 = self.predictor(self.projector(self.encoder(views))).chunk(2)
        with torch.no_grad():
            z1, z2 = self.target_projector(self.target_encoder(views)).chunk(2)
        return byol_loss(p1, z2) + byol_loss(p2, z1)

    @torch.no_grad()
    def after_step(self, progress: float) -> None:
        tau = 1 - (1 - self.base_momentum) * (math.cos(math.pi * progress) + 1) / 2
        for online, target in (
            (self.encoder, self.target_encoder),
            (self.projector, self.target_projector),
        ):
            for po, pt in zip(online.parameters(), target.parameters(), strict=True):
                pt.lerp_(po, 1 - tau)
            for bo, bt in zip(online.buffers(), target.buffers(), strict=True):
                bt.copy_(bo)
