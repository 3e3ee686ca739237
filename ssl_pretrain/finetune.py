"""Supervised fine-tuning of a whole encoder plus a linear head on labeled images.

The encoder is trained with a lower learning rate than the freshly initialized head (AdamW,
two parameter groups, cosine schedule), on light per-sample augmentation drawn on the
training device (random resized crop and horizontal flip, see :mod:`ssl_pretrain.augment`).
As in pretraining, tensors are channels_last and the forward pass runs under bf16 autocast on
CUDA and on CPUs with native bf16 (``precision``, :mod:`ssl_pretrain.precision`), and the
loss is computed in float32. For a given seed a CPU run is exactly reproducible on the same
machine, and the caller's random generators are left untouched.

With a ``checkpoint_path`` the whole training state (encoder, head, optimizer, schedule,
torch's random state, history, epoch) is written atomically after every epoch, with a
fingerprint of the settings, the images, the labels and the starting encoder; ``resume=True``
continues from it and ends exactly where an uninterrupted CPU run ends, and refuses a
checkpoint whose fingerprint differs (:class:`CheckpointMismatchError`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .augment import crop_flip_augment, to_float
from .checkpoint import (
    FORMAT,
    _plain_state,
    atomic_save,
    load_checkpoint,
    rng_state,
    set_rng_state,
)
from .data import as_uint8_tensor, resize_pool
from .heap import training_heap
from .precision import autocast, resolve_precision
from .train import _place_pool

ProgressFn = Callable[[int, int, float, float], None]
# Crops keep at least this share of the image: fine-tuning sets are small, views stay close.
MIN_CROP_SCALE = 0.35
CHECKPOINT_KIND = "finetune"


class CheckpointMismatchError(ValueError):
    """``resume=True`` found a checkpoint made with other settings, images, labels or
    starting encoder: continuing from it would not be this run. ``epoch`` is the
    checkpoint's epoch, ``reason`` says what differs."""

    def __init__(self, message: str, *, epoch: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.epoch = epoch
        self.reason = reason or message


@dataclass
class FinetuneResult:
    """The trained copy of the encoder, the head (``[n, d]`` features -> ``[n, c]`` logits)
    and one history row per epoch: epoch, loss, accuracy (on the augmented batches), img_per_s."""

    encoder: nn.Module
    head: nn.Module
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from_epoch: int = 0


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
    checkpoint_path: str | os.PathLike[str] | None = None,
    resume: bool = False,
    precision: str = "auto",
) -> FinetuneResult:
    """Train a copy of ``encoder`` and a new linear head on uint8 ``[n, H, W, 3]`` images
    with integer ``labels`` in ``0..n_classes-1`` (cross-entropy).

    The head learns at ``lr``, the encoder at ``lr * encoder_lr_scale`` (0 freezes its
    weights; batch-norm statistics still adapt). ``image_size`` defaults to the encoder's
    own input size (else the images' size); images are resized once. ``on_progress(epoch,
    n_epochs, loss, img_per_s)`` runs after every epoch (after the checkpoint is written)
    and may raise to stop. The given encoder is not modified; both returned modules are in
    eval mode on ``device``.

    ``checkpoint_path`` receives the training state after every epoch (atomically).
    ``resume=True`` continues from it when it exists (else starts afresh) and raises
    :class:`CheckpointMismatchError` when it was made with other settings, images, labels
    or starting encoder; ``FinetuneResult.resumed_from_epoch`` says where it continued.
    ``precision``: ``"auto"``, ``"float32"`` or ``"bfloat16"`` (:mod:`ssl_pretrain.precision`).
    """
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
    if resume and checkpoint_path is None:
        raise ValueError("resume=True needs a checkpoint_path")
    if isinstance(images, np.ndarray | torch.Tensor) and len(images) == 0:
        raise ValueError("no images to fine-tune on: the labeled set is empty")
    pool = as_uint8_tensor(images)
    y = _labels(labels, pool.shape[0], n_classes)
    _check_numbers(epochs, batch_size, lr, encoder_lr_scale)
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available")
    precision = resolve_precision(precision, device)
    own_size = getattr(encoder, "image_size", None)
    size = image_size or own_size or pool.shape[1]
    if pool.shape[1] != pool.shape[2] and not (image_size or own_size):
        raise ValueError(
            f"images are {pool.shape[1]}x{pool.shape[2]}; non-square images need image_size"
        )
    settings: dict[str, Any] = {
        "n_classes": int(n_classes),
        "n_images": int(pool.shape[0]),
        "image_size": int(size),
        "epochs": epochs,
        "batch_size": min(batch_size, int(pool.shape[0])),
        "lr": float(lr),
        "encoder_lr_scale": float(encoder_lr_scale),
        "weight_decay": float(weight_decay),
        "seed": int(seed),
        "augment": bool(augment),
        "precision": precision,
    }
    checkpoint = None
    if checkpoint_path is not None:
        checkpoint = _Checkpoint(
            Path(checkpoint_path), settings, fingerprint(settings, pool, y, encoder)
        )
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), training_heap(device):
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
            batch_size=int(settings["batch_size"]),
            lr=float(lr),
            encoder_lr=float(lr) * float(encoder_lr_scale),
            weight_decay=float(weight_decay),
            seed=seed,
            views=crop_flip_augment(int(size), min_scale=MIN_CROP_SCALE) if augment else None,
            on_progress=on_progress,
            checkpoint=checkpoint,
            resume=resume,
            precision=precision,
        )


def _digest_tensor(digest: Any, tensor: torch.Tensor) -> None:
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    digest.update(str((tuple(tensor.shape), str(tensor.dtype))).encode())
    digest.update(flat.view(torch.uint8).numpy().data)


def fingerprint(
    settings: dict[str, Any], images: torch.Tensor, labels: torch.Tensor, encoder: nn.Module
) -> str:
    """SHA-256 of the settings, the uint8 images, the labels and the starting encoder's
    weights: two runs with the same fingerprint train the same thing."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    _digest_tensor(digest, images)
    _digest_tensor(digest, labels)
    for name, value in sorted(encoder.state_dict().items()):
        digest.update(name.encode())
        _digest_tensor(digest, value)
    return digest.hexdigest()


@dataclass
class _Checkpoint:
    path: Path
    settings: dict[str, Any]
    fingerprint: str

    def load(self) -> dict[str, Any]:
        """The saved state, after checking it belongs to this run."""
        state = load_checkpoint(self.path)
        if state.get("kind") != CHECKPOINT_KIND:
            raise CheckpointMismatchError(
                f"{self.path} is a {state.get('kind')!r} checkpoint, not a fine-tuning one",
                reason=f"a {state.get('kind')!r} checkpoint, not a fine-tuning one",
            )
        if state.get("fingerprint") != self.fingerprint:
            saved = state.get("settings") or {}
            changed = [
                f"{k} {saved.get(k)!r} -> {v!r}"
                for k, v in self.settings.items()
                if saved.get(k) != v
            ]
            what = ", ".join(changed) if changed else "the images, labels or starting encoder"
            raise CheckpointMismatchError(
                f"checkpoint {self.path} (epoch {state.get('epoch')}) was made for another "
                f"fine-tuning run ({what}); remove it or do not resume",
                epoch=state.get("epoch"),
                reason=what,
            )
        return state

    def save(self, state: dict[str, Any]) -> None:
        atomic_save(
            {
                "format": FORMAT,
                "kind": CHECKPOINT_KIND,
                "settings": self.settings,
                "fingerprint": self.fingerprint,
                **state,
            },
            self.path,
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
    precision: str,
    checkpoint: _Checkpoint | None = None,
    resume: bool = False,
) -> FinetuneResult:
    encoder = encoder.to(memory_format=torch.channels_last)
    optimizer = _optimizer(encoder, head, lr, encoder_lr, weight_decay)
    n = pool.shape[0]
    steps_per_epoch = len(_batches(torch.arange(n), batch_size))
    total = epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(1.0, step / total)))
    )
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if resume and checkpoint is not None and checkpoint.path.exists():
        state = checkpoint.load()
        encoder.load_state_dict(state["encoder"])
        head.load_state_dict(state["head"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        history = list(state["history"])
        start_epoch = int(state["epoch"])
    for epoch in range(start_epoch, epochs):
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
            x = x.contiguous(memory_format=torch.channels_last)
            with autocast(precision, device):
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
        if checkpoint is not None:
            checkpoint.save(
                {
                    "encoder": _plain_state(encoder),
                    "head": _plain_state(head),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": rng_state(host=False),  # numpy's and Python's belong to the caller
                    "epoch": epoch + 1,
                    "history": history,
                }
            )
        if on_progress is not None:
            on_progress(epoch + 1, epochs, mean_loss, img_per_s)
    encoder.eval()
    head.eval()
    return FinetuneResult(
        encoder=encoder, head=head, history=history, resumed_from_epoch=start_epoch
    )
