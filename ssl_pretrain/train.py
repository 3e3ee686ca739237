"""The pretraining loop: per-sample augmentation on the device, atomic per-epoch checkpoints,
exact resume, and DDP when ``torch.distributed`` is initialized (``torchrun``).

On every device the model and batches are channels_last (oneDNN on CPU and cuDNN on CUDA run
their NHWC convolutions without reordering every activation) and ``config.compile`` compiles
the encoder. The forward pass runs under bf16 autocast on CUDA and on CPUs with native bf16
(``config.precision``, :mod:`ssl_pretrain.precision`); methods compute their loss in float32.
On CPU the optimizer is the fused one (one pass over the parameters instead of several per
tensor), and freed activation buffers stay in the heap for the next step (:mod:`.heap`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .augment import to_float
from .backbones import Encoder, build_backbone
from .checkpoint import FORMAT, _plain_state, atomic_save, load_checkpoint, rng_state, set_rng_state
from .config import PretrainConfig
from .data import as_uint8_tensor, resize_pool
from .heap import training_heap
from .methods import METHODS, Method
from .precision import autocast, resolve_precision

ProgressFn = Callable[[int, int, float, float], None]
StepFn = Callable[[int, int], None]


@dataclass
class PretrainResult:
    encoder: Encoder
    history: list[dict[str, Any]] = field(default_factory=list)
    config: PretrainConfig | None = None


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def build_method(config: PretrainConfig, image_size: int) -> Method:
    encoder = build_backbone(config.backbone, image_size)
    return METHODS[config.method](encoder, config)


def make_optimizer(method: Method, config: PretrainConfig) -> torch.optim.Optimizer:
    lr = (config.lr if config.lr is not None else method.default_lr) * config.batch_size / 256
    wd = config.weight_decay if config.weight_decay is not None else method.default_weight_decay
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for p in method.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]
    # The fused CPU kernels do the same update in one pass (about 3x less time than the default
    # per-tensor loop on CPU); CUDA keeps torch's default (foreach), which is what was measured.
    fused = all(p.device.type == "cpu" for p in decay + no_decay) or None
    if method.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), fused=fused)
    return torch.optim.SGD(groups, lr=lr, momentum=0.9, fused=fused)


def lr_lambda(config: PretrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    total = config.epochs * steps_per_epoch
    warmup = min(config.warmup_epochs * steps_per_epoch, total - 1)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.schedule == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919 + rank * 104_729) % (2**63)


def pretrain(
    config: PretrainConfig,
    images: Any,
    *,
    device: str | torch.device = "cpu",
    on_progress: ProgressFn | None = None,
    checkpoint_path: str | os.PathLike[str] | None = None,
    resume: bool = False,
    on_step: StepFn | None = None,
    time_budget_s: float | None = None,
) -> PretrainResult:
    """Train ``config.method`` on ``images`` (uint8 ``[n, H, W, 3]``); return the encoder.

    ``on_progress(epoch, n_epochs, loss, img_per_s)`` runs after every epoch (after the
    checkpoint is written) and may raise to stop. ``resume=True`` continues from
    ``checkpoint_path`` and ends with the same weights as an uninterrupted run.

    ``time_budget_s`` stops training once that many seconds have passed (mid-epoch; that
    epoch's history row says how many ``steps`` it ran); the cosine schedule then follows
    elapsed time instead of steps, and ``config.epochs`` is only an upper bound. Such runs
    depend on the machine's speed, so they cannot be resumed exactly and refuse ``resume``.
    """
    if not isinstance(config, PretrainConfig):
        raise TypeError(f"config must be a PretrainConfig, got {type(config).__name__}")
    if resume and checkpoint_path is None:
        raise ValueError("resume=True needs a checkpoint_path")
    if time_budget_s is not None:
        if not time_budget_s > 0:
            raise ValueError(f"time_budget_s must be > 0, got {time_budget_s!r}")
        if resume:
            raise ValueError("a run with time_budget_s cannot be resumed exactly; drop one")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available")
    pool = as_uint8_tensor(images)
    image_size = config.image_size or pool.shape[1]
    if pool.shape[1] != pool.shape[2] and config.image_size is None:
        raise ValueError(
            f"images are {pool.shape[1]}x{pool.shape[2]}; non-square pools need image_size"
        )
    rank, world = _world()
    local_batch = config.batch_size // world
    n = pool.shape[0]
    if local_batch < 2:
        raise ValueError(f"batch_size {config.batch_size} is too small for {world} processes")
    if n < 2 * world:
        raise ValueError(
            f"the pool has {n} image(s); pretraining needs at least 2 per process ({world})"
        )
    local_batch = min(local_batch, n // world)
    steps_per_epoch = max(1, (n // world) // local_batch)

    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), training_heap(device):
        torch.manual_seed(config.seed)
        method = build_method(config, image_size)
        pool = _place_pool(resize_pool(pool, image_size), device)
        return _train(
            config,
            method,
            pool,
            device,
            rank,
            world,
            local_batch,
            steps_per_epoch,
            on_progress,
            on_step,
            checkpoint_path,
            resume,
            time_budget_s,
        )


def _place_pool(pool: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type != "cuda":
        return pool
    free, _ = torch.cuda.mem_get_info(device)
    if pool.numel() < free // 4:
        return pool.to(device)
    return pool.pin_memory()


def _train(
    config: PretrainConfig,
    method: Method,
    pool: torch.Tensor,
    device: torch.device,
    rank: int,
    world: int,
    local_batch: int,
    steps_per_epoch: int,
    on_progress: ProgressFn | None,
    on_step: StepFn | None,
    checkpoint_path: str | os.PathLike[str] | None,
    resume: bool,
    time_budget_s: float | None = None,
) -> PretrainResult:
    cuda = device.type == "cuda"
    method = method.to(device).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(method, config)
    clock = _Clock(time_budget_s)
    schedule = lr_lambda(config, steps_per_epoch) if time_budget_s is None else clock.lr_factor
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path)
        if state.get("kind") != "training":
            raise ValueError(f"{checkpoint_path} is not a training checkpoint")
        saved = PretrainConfig.from_dict(state["config"])
        if saved != config:
            raise ValueError(
                f"checkpoint {checkpoint_path} was made with a different config: {saved}"
            )
        method.load_state_dict(state["method_state"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        history = list(state["history"])
        start_epoch = int(state["epoch"])
    if config.compile:
        method.encoder.compile()
    model: nn.Module = method
    if world > 1:
        model = nn.parallel.DistributedDataParallel(method, device_ids=[device] if cuda else None)
    n = pool.shape[0]
    total_steps = config.epochs * steps_per_epoch
    precision = resolve_precision(config.precision, device)
    clock.start()
    for epoch in range(start_epoch, config.epochs):
        # Seeded per epoch (and rank): a resumed run draws exactly what the full run drew.
        torch.manual_seed(_epoch_seed(config.seed, epoch, rank))
        shuffle = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch, 0))
        order = torch.randperm(n, generator=shuffle)[rank::world]
        method.train()
        loss_sum = torch.zeros((), device=device)
        started = time.perf_counter()
        steps_done = 0
        for step in range(steps_per_epoch):
            idx = order[step * local_batch : (step + 1) * local_batch]
            # [n, H, W, 3] uint8 -> float [n, 3, H, W] whose memory is already channels_last.
            x = to_float(pool[idx.to(pool.device)].to(device, non_blocking=True))
            with autocast(precision, device):
                loss = model(x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            done = (epoch * steps_per_epoch + step + 1) / total_steps
            method.after_step(done if time_budget_s is None else clock.progress())
            loss_sum += loss.detach().float()
            steps_done = step + 1
            if on_step is not None:
                on_step(step + 1, steps_per_epoch)
            if clock.expired(world, device):
                break
        if world > 1:
            dist.all_reduce(loss_sum)
            loss_sum /= world
            for buffer in method.buffers():  # BN statistics: every rank keeps rank 0's
                dist.broadcast(buffer, 0)
        mean_loss = float(loss_sum.item()) / steps_done
        if not math.isfinite(mean_loss):
            raise FloatingPointError(f"loss became {mean_loss} in epoch {epoch + 1}; lower lr")
        elapsed = time.perf_counter() - started
        img_per_s = steps_done * local_batch * world / max(elapsed, 1e-9)
        history.append(
            {"epoch": epoch + 1, "loss": mean_loss, "img_per_s": img_per_s, "steps": steps_done}
        )
        if checkpoint_path is not None and rank == 0:
            atomic_save(
                {
                    "format": FORMAT,
                    "kind": "training",
                    "backbone": config.backbone,
                    "image_size": method.encoder.image_size,
                    "config": config.to_dict(),
                    "method_state": _plain_state(method),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": rng_state(),
                    "epoch": epoch + 1,
                    "history": history,
                    "world_size": world,
                },
                checkpoint_path,
            )
        if world > 1:
            dist.barrier()
        if on_progress is not None:
            on_progress(epoch + 1, config.epochs, mean_loss, img_per_s)
        if clock.is_over:
            break
    method.eval()
    return PretrainResult(encoder=method.encoder, history=history, config=config)


class _Clock:
    """Wall-clock budget: progress in [0, 1], a cosine lr factor on it, and the stop signal
    (agreed across DDP ranks, so every process stops after the same step)."""

    def __init__(self, budget_s: float | None) -> None:
        self.budget_s = budget_s
        self.started = time.perf_counter()
        self.is_over = False

    def start(self) -> None:
        self.started = time.perf_counter()

    def progress(self) -> float:
        if self.budget_s is None:
            return 0.0
        return min(1.0, (time.perf_counter() - self.started) / self.budget_s)

    def lr_factor(self, _step: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * self.progress()))

    def expired(self, world: int, device: torch.device) -> bool:
        if self.budget_s is None:
            return False
        over = torch.tensor(float(self.progress() >= 1.0), device=device)
        if world > 1:
            dist.all_reduce(over, op=dist.ReduceOp.MAX)
        self.is_over = bool(over.item())
        return self.is_over
