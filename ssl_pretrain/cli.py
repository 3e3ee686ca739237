"""``python -m ssl_pretrain``: pretrain on a folder or zip, write the checkpoint and embeddings.

Multi-process (DDP) runs go through torchrun, which sets ``WORLD_SIZE``/``RANK``::

    python -m torch.distributed.run --nproc_per_node 2 -m ssl_pretrain --images pool.zip ...

NCCL on CUDA, gloo on CPU. Rank 0 writes the files and draws the progress bar.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from .backbones import BACKBONES, input_size
from .checkpoint import save_encoder
from .config import GRAYSCALE, SCHEDULES, PretrainConfig
from .data import load_images
from .embed import embed
from .methods import METHODS
from .precision import PRECISIONS
from .train import pretrain

DEFAULT_EPOCHS = 100
# With --minutes the clock ends the run; epochs only bound it.
BUDGET_EPOCHS = 100_000


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ssl_pretrain", description=__doc__.splitlines()[0])
    p.add_argument(
        "--images", required=True, help="folder or .zip of images (searched recursively)"
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--method", default="simclr", choices=sorted(METHODS))
    p.add_argument("--backbone", default="resnet18", choices=sorted(BACKBONES))
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"default {DEFAULT_EPOCHS}; with --minutes, an upper bound ({BUDGET_EPOCHS} if not given)",
    )
    p.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="train for this long (the lr schedule follows the clock); cannot be resumed",
    )
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=None, help="base lr for batch 256 (method default)")
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--schedule", default="cosine", choices=SCHEDULES)
    p.add_argument("--warmup-epochs", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="resize to this size (default: the images' longer side, snapped up to 16, 32, "
        "64, 96, 128, 160 or 224 px; at most 64 for cnn_small)",
    )
    p.add_argument(
        "--view-size",
        type=int,
        default=None,
        help="side of SimCLR/BYOL's augmented views (default: the image size; smaller is faster)",
    )
    p.add_argument(
        "--grayscale",
        type=float,
        default=GRAYSCALE,
        help=f"probability of a grayscale view for SimCLR/BYOL (default {GRAYSCALE}); "
        "higher where colour says nothing of the class",
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the encoder (CUDA)")
    p.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="auto: bf16 autocast on CUDA and on CPUs with native bf16, else float32",
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true")
    return p


def _init_distributed(device: str) -> tuple[int, int, str]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    backend = "nccl" if device.startswith("cuda") else "gloo"
    dist.init_process_group(backend=backend)
    if device.startswith("cuda"):
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    return dist.get_rank(), dist.get_world_size(), device


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.minutes is not None and not args.minutes > 0:
            raise ValueError(f"--minutes must be > 0, got {args.minutes}")
        if args.minutes is not None and args.resume:
            raise ValueError("a run with --minutes cannot be resumed exactly; drop one")
        epochs = args.epochs
        if epochs is None:
            epochs = DEFAULT_EPOCHS if args.minutes is None else BUDGET_EPOCHS
        config = PretrainConfig(
            method=args.method,
            backbone=args.backbone,
            epochs=epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            schedule=args.schedule,
            seed=args.seed,
            weight_decay=args.weight_decay,
            image_size=args.image_size,
            compile=args.compile,
            warmup_epochs=args.warmup_epochs,
            view_size=args.view_size,
            precision=args.precision,
            grayscale=args.grayscale,
        )
        images, names = load_images(args.images, size=args.image_size)
        if args.image_size is None:
            size = input_size(max(images.shape[1:3]), args.backbone)
            if (size, size) != images.shape[1:3]:
                # A pool at a standard size keeps image_size=None, as its checkpoints say.
                config = dataclasses.replace(config, image_size=size)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rank, world, device = _init_distributed(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    budget_s = None if args.minutes is None else args.minutes * 60
    bar = None
    if rank == 0 and not args.no_progress:
        if budget_s is None:
            bar = tqdm(total=config.epochs, unit="epoch", dynamic_ncols=True)
        else:
            bar = tqdm(total=round(budget_s), unit="s", dynamic_ncols=True)
        print(
            f"{len(images)} images {images.shape[2]}x{images.shape[1]} at "
            f"{config.image_size or images.shape[1]} px, "
            f"{config.method} on {config.backbone}, {world} process(es) on {device}",
            file=sys.stderr,
        )
    started = time.perf_counter()

    def on_step(step: int, steps: int) -> None:
        if bar is None:
            return
        if budget_s is None:
            bar.update(1 / steps)
        else:
            bar.n = min(round(budget_s), round(time.perf_counter() - started))
            bar.refresh()

    def on_progress(epoch: int, epochs: int, loss: float, img_per_s: float) -> None:
        if bar is not None:
            if budget_s is None:
                bar.n = epoch
            shown = f"{epoch}/{epochs}" if budget_s is None else str(epoch)
            bar.set_postfix(epoch=shown, loss=f"{loss:.4f}", img_s=f"{img_per_s:.0f}")

    try:
        result = pretrain(
            config,
            images,
            device=device,
            on_progress=on_progress,
            on_step=on_step,
            checkpoint_path=out / "checkpoint.pt",
            resume=args.resume,
            time_budget_s=budget_s,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    if rank == 0:
        save_encoder(result.encoder, out / "encoder.pt", config=config)
        embed(
            result.encoder,
            images,
            device=device,
            out=out / "embeddings.npy",
            precision=args.precision,
        )
        (out / "names.txt").write_text("\n".join(names) + "\n")
        (out / "history.json").write_text(json.dumps(result.history, indent=1))
        print(f"wrote {out}/checkpoint.pt, encoder.pt, embeddings.npy, names.txt", file=sys.stderr)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return 0
