"""Batched augmentation on the training device, with independent parameters for every sample.

kornia draws one parameter set per sample (``same_on_batch=False``), unlike torchvision's v2
transforms applied to a batch tensor, which draw one set for the whole batch. Its random
numbers come from torch's global generator, whose state the trainer checkpoints.

SimCLR's recipe (Chen et al. 2020, https://arxiv.org/abs/2002.05709, appendix A): random
resized crop (scale 0.08-1), horizontal flip, colour jitter (0.4, 0.4, 0.4, 0.1) with p=0.8,
grayscale with p=0.2, and Gaussian blur (p=0.5) only for images larger than 64 px. Quarry's
default makes half the views grayscale instead of a fifth (``PretrainConfig.grayscale``; why
in docs/ssl_pretrain.md).
"""

from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import nn

from .config import GRAYSCALE


def to_float(batch_uint8: torch.Tensor) -> torch.Tensor:
    """``[n, H, W, 3]`` uint8 -> ``[n, 3, H, W]`` float32 in [0, 1] (channels_last memory)."""
    return batch_uint8.permute(0, 3, 1, 2).float().div_(255.0)


def simclr_augment(
    image_size: int, *, jitter: float = 0.5, min_scale: float = 0.08, grayscale: float = GRAYSCALE
) -> nn.Module:
    """SimCLR's view transform; ``jitter`` is the colour-jitter strength (0.5 for CIFAR),
    ``grayscale`` the probability of a grayscale view."""
    ops: list[nn.Module] = [
        K.RandomResizedCrop(
            (image_size, image_size), scale=(min_scale, 1.0), cropping_mode="resample"
        ),
        K.RandomHorizontalFlip(),
        K.ColorJitter(0.8 * jitter, 0.8 * jitter, 0.8 * jitter, 0.2 * jitter, p=0.8),
        K.RandomGrayscale(p=grayscale),
    ]
    if image_size > 64:
        kernel = max(3, int(0.1 * image_size) // 2 * 2 + 1)
        ops.append(K.RandomGaussianBlur((kernel, kernel), (0.1, 2.0), p=0.5))
    return nn.Sequential(*ops)


def crop_flip_augment(image_size: int, *, min_scale: float = 0.2) -> nn.Module:
    """The light view of MAE (He et al. 2021): random resized crop and horizontal flip."""
    return nn.Sequential(
        K.RandomResizedCrop(
            (image_size, image_size), scale=(min_scale, 1.0), cropping_mode="resample"
        ),
        K.RandomHorizontalFlip(),
    )
