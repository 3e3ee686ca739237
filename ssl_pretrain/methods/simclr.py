"""SimCLR: two augmented views, a projection head and the NT-Xent loss.

Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual Representations",
https://arxiv.org/abs/2002.05709. Negatives are the other views of the local batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..augment import simclr_augment
from ..backbones import Encoder
from ..config import PretrainConfig
from .base import Method, mlp


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Normalized-temperature cross entropy over ``2n`` projections, computed in float32
    (the similarity matmul too, outside any autocast)."""
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    n = z1.shape[0]
    with torch.autocast(z.device.type, enabled=False):
        sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, targets)


class SimCLR(Method):
    name = "simclr"
    description = "contrastive: two augmented views, NT-Xent loss (Chen et al. 2020)"
    two_views = True

    def __init__(self, encoder: Encoder, config: PretrainConfig) -> None:
        super().__init__(encoder, config)
        self.projector = mlp(encoder.dim, 2048 if encoder.dim >= 2048 else 512, 128)
        self.augment = simclr_augment(self.view_size, grayscale=config.grayscale)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        v1, v2 = self.augment(x), self.augment(x)
        z = self.projector(self.encoder(torch.cat([v1, v2])))
        z1, z2 = z.chunk(2)
        return nt_xent(z1, z2, self.config.temperature)
