"""The interface every pretraining method implements: views, head and loss in one module."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ..backbones import Encoder
from ..config import PretrainConfig


class Method(nn.Module):
    """A method owns the encoder being trained, its own heads and its augmentation.

    ``loss(x)`` takes a batch of float images in [0, 1], ``[n, 3, H, W]``, already on the
    device, makes the method's views, and returns a scalar loss computed in float32.
    ``after_step()`` runs after every optimizer step (BYOL's momentum update).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    needs_vit: ClassVar[bool] = False
    two_views: ClassVar[bool] = False  # trains on two augmented views (``config.view_size``)
    # Base learning rate for a batch of 256, scaled linearly with the batch size.
    default_lr: ClassVar[float] = 0.12
    default_weight_decay: ClassVar[float] = 5e-4
    optimizer: ClassVar[str] = "sgd"  # "sgd" (momentum 0.9) or "adamw"

    def __init__(self, encoder: Encoder, config: PretrainConfig) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = config

    @property
    def view_size(self) -> int:
        """The side of the augmented views: ``config.view_size``, else the encoder's input."""
        return self.config.view_size or self.encoder.image_size

    def loss(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # forward() is the loss, so DistributedDataParallel's gradient hooks see the call.
        return self.loss(x)

    @torch.no_grad()
    def after_step(self, progress: float) -> None:
        """Called after each optimizer step with training progress in [0, 1]."""


def mlp(dim_in: int, dim_hidden: int, dim_out: int, *, bn_last: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Linear(dim_in, dim_hidden, bias=False),
        nn.BatchNorm1d(dim_hidden),
        nn.ReLU(inplace=True),
        nn.Linear(dim_hidden, dim_out, bias=not bn_last),
    ]
    if bn_last:
        layers.append(nn.BatchNorm1d(dim_out, affine=False))
    return nn.Sequential(*layers)
