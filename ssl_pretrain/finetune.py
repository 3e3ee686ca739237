"""Supervised fine-tuning of a whole encoder plus a linear head on labeled images.

The encoder is trained with a lower learning rate than the freshly initialized head (AdamW,
two parameter groups, cosine schedule), on light per-sample augmentation drawn on the
training device (random resized crop and horizontal flip, see :mod:`ssl_pretrain.augment`).
As in pretraining, CUDA runs the forward pass under bf16 autocast with channels_last
tensors, and the loss is computed in float32; the CPU stays in float32. For a given seed a
CPU run is exactly reproducible, and the caller's random generators are left untouched.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .augment import crop_flip_augment, to_float
from .data import as_uint8_tensor, resize_pool
from .train import _place_pool

ProgressFn = Callable[[int, int, float, float], None]
# Crops keep at least this share of the image: fine-tuning sets are small, views stay close.
MIN_CROP_SCALE = 0.35


@dataclass
class FinetuneResult:
    """The trained copy of the encoder, the head (``[n, d]`` features -> ``[n, c]`` logits)
    and one history row per epoch: epoch, loss, accuracy (on the augmented batches), img_per_s."""

    encoder: nn.Module
    head: nn.Module
    history: list[dict[str, Any]] = field(default_factory=list)


def _labels(labels: Any, n: int, n_classes: int) -> torch.Tensor:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    y = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-dimensional [n], got shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"got {n} images but {len(y)} labels")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class ids, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= n_classes:
        bad = y[(y < 0) | (y >= n_classes)][0]
        raise ValueError(f"label {int(bad)} is outside the classes 0..{n_classes - 1}")
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"all {len(y)} labels are class {int(y[0])}; fine-tuning needs two classes or more"
        )
    return torch.from_numpy(y.astype(np.int64))


def _check_numbers(epochs: int, batch_size: int, lr: float, encoder_lr_scale: float) -> None:
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not (isinstance(lr, int | float) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if not (isinstance(encoder_lr_scale, int | float) and encoder_lr_scale >= 0):
        raise ValueError(f"encoder_lr_scale must be >= 0, got {encoder_lr_scale!r}")


def _feature_dim(encoder: nn.Module, x: torch.Tensor) -> int:
    dim = getattr(encoder, "dim", None)
    if isinstance(dim, int) and dim > 0:
        return dim
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        dim = int(encoder(x).shape[1])
    encoder.train(was_training)
    return dim


def _batches(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Mini-batches of ``order``; a last batch of one sample joins the one before (a single
    sample gives batch norm no statistics)."""
    parts = list(order.split(batch_size))
    if len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2] = torch.cat([parts[-2], parts.pop()])
    return parts


def finetune(
    encoder: nn.Module,
    images: Any,
    labels: Any,
    *,
    n_classes: int,
    device: str | torch.device = "cpu",
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    encoder_lr_scale: float = 0.1,
    weight_decay: float = 0.01,
    seed: int = 0,
    augment: bool = True,
    on_progress: ProgressFn | None = None,
    image_size: int | None = None,
) -> FinetuneResult:
    """Train a copy of ``encoder`` and a new linear head on uint8 ``[n, H, W, 3]`` images
    with integer ``labels`` in ``0..n_classes-1`` (cross-entropy).

    The head learns at ``lr``, the encoder at ``lr * encoder_lr_scale`` (0 freezes its
    weights; batch-norm statistics still adapt). ``image_size`` defaults to the encoder's
    own input size (else the images' size); images are resized once. ``on_progress(epoch,
    n_epochs, loss, img_per_s)`` runs after every epoch and may raise to stop. The given
    encoder is not modified; both returned modules are in eval mode on ``device``.
    """
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
    if isinstance(images, np.ndarray | torch.Tensor) and len(images) == 0:
        raise ValueError("no images to fine-tune on: the labeled set is empty")
    pool = as_uint8_tensor(images)
    y = _labels(labels, pool.shape[0], n_classes)
    _check_numbers(epochs, batch_size, lr, encoder_lr_scale)
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available")
    own_size = getattr(encoder, "image_size", None)
    size = image_size or own_size or pool.shape[1]
    if pool.shape[1] != pool.shape[2] and not (image_size or own_size):
        raise ValueError(
            f"images are {pool.shape[1]}x{pool.shape[2]}; non-square images need image_size"
        )
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        pool = _place_pool(resize_pool(pool, int(size)), device)
        model = copy.deepcopy(encoder).to(device)
        probe = to_float(pool[:1].to(device))
        head = nn.Linear(_feature_dim(model, probe), int(n_classes)).to(device)
        return _train(
            model,
            head,
            pool,
            y.to(device),
            device=device,
            epochs=epochs,
            batch_size=min(batch_size, pool.shape[0]),
            lr=float(lr),
            encoder_lr=float(lr) * float(encoder_lr_scale),
            weight_decay=float(weight_decay),
            seed=seed,
            views=crop_flip_augment(int(size), min_scale=MIN_CROP_SCALE) if augment else None,
            on_progress=on_progress,
        )


def _optimizer(
    encoder: nn.Module, head: nn.Module, lr: float, encoder_lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    groups = []
    for module, group_lr in ((encoder, encoder_lr), (head, lr)):
        params = [p for p in module.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        groups.append({"params": decay, "lr": group_lr, "weight_decay": weight_decay})
        groups.append({"params": no_decay, "lr": group_lr, "weight_decay": 0.0})
    return torch.optim.AdamW([g for g in groups if g["params"]])


def _train(
    encoder: nn.Module,
    head: nn.Module,
    pool: torch.Tensor,
    y: torch.Tensor,
    *,
    device: torch.device,
    epochs: int,
    batch_size: int,
    lr: float,
    encoder_lr: float,
    weight_decay: float,
    seed: int,
    views: nn.Module | None,
    on_progress: ProgressFn | None,
) -> FinetuneResult:
    cuda = device.type == "cuda"
    if cuda:
        encoder = encoder.to(memory_format=torch.channels_last)
    optimizer = _optimizer(encoder, head, lr, encoder_lr, weight_decay)
    n = pool.shape[0]
    steps_per_epoch = len(_batches(torch.arange(n), batch_size))
    total = epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(1.0, step / total)))
    )
    history: list[dict[str, Any]] = []
    for epoch in range(epochs):
        shuffle = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        encoder.train()
        head.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        started = time.perf_counter()
        for idx in _batches(torch.randperm(n, generator=shuffle), batch_size):
            x = to_float(pool[idx.to(pool.device)].to(device, non_blocking=True))
            target = y[idx.to(y.device)]
            if views is not None:
                x = views(x)
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                logits = head(encoder(x))
            loss = F.cross_entropy(logits.float(), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach() * len(idx)
            correct += (logits.detach().argmax(1) == target).sum()
        mean_loss = float(loss_sum.item()) / n
        if not math.isfinite(mean_loss):
            raise FloatingPointError(f"loss became {mean_loss} in epoch {epoch + 1}; lower lr")
        img_per_s = n / max(time.perf_counter() - started, 1e-9)
        history.append(
            {
                "epoch": epoch + 1,
                "loss": mean_loss,
                "accuracy": float(correct.item()) / n,
                "img_per_s": img_per_s,
            }
        )
        if on_progress is not None:
            on_progress(epoch + 1, epochs, mean_loss, img_per_s)
    encoder.eval()
    head.eval()
    return FinetuneResult(encoder=encoder, head=head, history=history)
