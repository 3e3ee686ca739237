"""Benchmarks for ssl_pretrain on CIFAR-10 (JPEG zip). Prints figures; asserts nothing.

    # (a) SimCLR throughput, Quarry vs lightly (lightly lives only in .venv-bench):
    python bench/ssl_pretrain.py throughput
    # (b) quality on CPU: SimCLR resnet18, 10,000 train images, 15-minute budget, weighted kNN
    #     (16 px views on a CPU unless --view-size says otherwise; 0 = full-size views)
    python bench/ssl_pretrain.py quality --budget-min 15
    # (c) quality on CUDA: 200 epochs on the 50,000 train images, SimCLR + rotation + MAE
    python bench/ssl_pretrain.py quality --device cuda --train-images 50000 --epochs 200 \
        --batch-size 512 --methods simclr,rotation,mae --compile

The lightly side runs in its own interpreter (``--lightly-python``, default
``.venv-bench/bin/python``), created with
``python3.11 -m venv .venv-bench && .venv-bench/bin/pip install torch==2.14.1 torchvision==0.29.1 lightly``.
Both sides train the same torchvision ResNet-18 with the small-image stem, the same projection
head (512-512-128, BN) and NT-Xent (t=0.5) on the same images, batch and augmentations
(crop 0.08-1, flip, jitter 0.4/0.4/0.4/0.1 p=0.8, grayscale p=0.2, no blur at 32 px).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ZIP = ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.zip"
# SimCLR's grayscale share, on both sides of the throughput comparison (lightly's default)
SIMCLR_GRAYSCALE = 0.2
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def cifar_members(zip_path: Path, split: str, n: int, seed: int = 0) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        names = sorted(
            m for m in zf.namelist() if m.startswith(f"{split}/") and m.lower().endswith(".jpg")
        )
    if n < len(names):
        pick = np.random.default_rng(seed).choice(len(names), size=n, replace=False)
        names = [names[i] for i in sorted(pick)]
    return names


def load_cifar(zip_path: Path, split: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    names = cifar_members(zip_path, split, n, seed)
    images = np.empty((len(names), 32, 32, 3), dtype=np.uint8)
    labels = np.empty(len(names), dtype=np.int64)
    with zipfile.ZipFile(zip_path) as zf:
        for i, name in enumerate(names):
            with Image.open(io.BytesIO(zf.read(name))) as img:
                images[i] = np.asarray(img.convert("RGB"))
            labels[i] = CLASSES.index(name.split("/")[1])
    return images, labels


# ---------------------------------------------------------------- (a) throughput


def quarry_throughput(
    images: np.ndarray, batch_size: int, device: str, precision: str
) -> tuple[float, float]:
    """(img/s wall clock, img per CPU-second of this process) over the second epoch."""
    from ssl_pretrain import PretrainConfig, pretrain

    config = PretrainConfig(
        method="simclr",
        backbone="resnet18",
        epochs=2,
        batch_size=batch_size,
        schedule="constant",
        precision=precision,
        grayscale=SIMCLR_GRAYSCALE,
    )
    marks: list[float] = []
    result = pretrain(
        config, images, device=device, on_progress=lambda *_: marks.append(time.process_time())
    )
    seen = result.history[-1]["steps"] * batch_size
    return result.history[-1]["img_per_s"], seen / (marks[1] - marks[0])


def lightly_worker(
    folder: str, batch_size: int, steps: int, device: str, workers: int, bf16: bool
) -> None:
    """Runs inside the lightly venv: lightly's SimCLR recipe, the same backbone and head
    (with ``bf16``, its forward pass under bf16 autocast and the loss in float32, as Quarry's)."""
    import torch
    import torchvision
    from lightly.data import LightlyDataset
    from lightly.loss import NTXentLoss
    from lightly.models.modules import SimCLRProjectionHead
    from lightly.transforms import SimCLRTransform

    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None)
    net.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = torch.nn.Identity()
    net.fc = torch.nn.Identity()
    model = torch.nn.Sequential(net, SimCLRProjectionHead(512, 512, 128)).to(device)
    transform = SimCLRTransform(
        input_size=32,
        cj_strength=0.5,
        min_scale=0.08,
        random_gray_scale=SIMCLR_GRAYSCALE,
        gaussian_blur=0.0,
        normalize={"mean": [0.4914, 0.4822, 0.4465], "std": [0.2470, 0.2435, 0.2616]},
    )
    dataset = LightlyDataset(input_dir=folder, transform=transform)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    criterion = NTXentLoss(temperature=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.12 * batch_size / 256, momentum=0.9)
    rates, cpu_rates = [], []
    for _epoch in range(2):
        started, cpu_started, seen = time.perf_counter(), time.process_time(), 0
        for (x0, x1), _, _ in loader:
            x0, x1 = x0.to(device), x1.to(device)
            # Both views in one forward, as lightly's own benchmarks do (and Quarry: BN statistics
            # span both views). lightly's minimal example runs one forward per view, which
            # measured about 8% more CPU time per image here.
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                z0, z1 = model(torch.cat([x0, x1])).float().chunk(2)
            loss = criterion(z0, z1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(x0)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        rates.append(seen / (time.perf_counter() - started))
        cpu_rates.append(seen / (time.process_time() - cpu_started))
    # CPU time counts this process only: meaningful with --workers 0.
    print(json.dumps({"img_per_s": rates[-1], "img_per_cpu_s": cpu_rates[-1]}))


def lightly_missing(python: Path) -> str | None:
    """Why lightly's side cannot run, or None."""
    if not python.is_file():
        return f"no interpreter at {python}"
    probe = subprocess.run([str(python), "-c", "import lightly"], capture_output=True, text=True)
    if probe.returncode:
        return f"{python} cannot import lightly ({probe.stderr.strip().splitlines()[-1]})"
    return None


def throughput(args: argparse.Namespace) -> None:
    lightly_python = Path(args.lightly_python)
    missing = None if args.no_lightly else lightly_missing(lightly_python)
    if missing:
        raise SystemExit(
            f"lightly's side: {missing}. Create it with `python3.11 -m venv .venv-bench && "
            ".venv-bench/bin/pip install torch==2.14.1 torchvision==0.29.1 lightly` "
            "(or pass --lightly-python), or run Quarry's side alone with --no-lightly."
        )
    import torch

    from ssl_pretrain.precision import resolve_precision

    arithmetic = resolve_precision(args.precision, torch.device(args.device))
    theirs = "bfloat16 autocast" if args.lightly_bf16 else "float32"
    print(f"Quarry's side runs in {arithmetic} ({args.precision}); lightly's in {theirs}")
    n = args.batch_size * args.steps
    images, _ = load_cifar(args.zip, "train", n, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        from PIL import Image

        for i, img in enumerate([] if args.no_lightly else images):
            # lightly reads a folder of JPEGs, like its examples
            Image.fromarray(img).save(f"{tmp}/{i:05d}.jpg", quality=95)
        quarry, lightly, quarry_cpu, lightly_cpu = [], [], [], []
        for _round in range(args.rounds):
            wall, cpu = quarry_throughput(images, args.batch_size, args.device, args.precision)
            quarry.append(wall)
            quarry_cpu.append(cpu)
            if args.no_lightly:
                print(f"round {_round + 1}: quarry {wall:.2f} img/s ({cpu:.2f} img per CPU-s)")
                continue
            out = subprocess.run(
                [
                    str(lightly_python),
                    __file__,
                    "lightly-worker",
                    "--folder",
                    tmp,
                    "--batch-size",
                    str(args.batch_size),
                    "--device",
                    args.device,
                    "--workers",
                    str(args.workers),
                    *(["--bf16"] if args.lightly_bf16 else []),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            lightly.append(figures["img_per_s"])
            lightly_cpu.append(figures["img_per_cpu_s"])
            print(
                f"round {_round + 1}: quarry {quarry[-1]:.2f} img/s ({quarry_cpu[-1]:.2f} img per "
                f"CPU-s), lightly {lightly[-1]:.2f} img/s ({lightly_cpu[-1]:.2f} img per CPU-s)"
            )
    if args.no_lightly:
        print(
            f"SimCLR resnet18 32px batch {args.batch_size} on {args.device}: quarry "
            f"{np.median(quarry):.2f} img/s, {np.median(quarry_cpu):.2f} img per CPU-s"
        )
        return
    q, lt = float(np.median(quarry)), float(np.median(lightly))
    print(
        f"SimCLR resnet18 32px batch {args.batch_size} on {args.device} ({os.cpu_count()} cpus): "
        f"quarry {q:.2f} img/s, lightly {lt:.2f} img/s, ratio {q / lt:.2f}x"
    )
    if args.workers == 0:  # all work in one process each: CPU time is comparable
        qc, lc = float(np.median(quarry_cpu)), float(np.median(lightly_cpu))
        print(f"per CPU-second: quarry {qc:.2f} img, lightly {lc:.2f} img, ratio {qc / lc:.2f}x")


# ---------------------------------------------------------------- (b, c) quality


def train(config, images, device: str, budget_s: float | None):  # noqa: ANN001, ANN201
    """Train for ``config.epochs``, or for ``budget_s`` seconds (cosine schedule on time)."""
    from ssl_pretrain import pretrain

    def on_progress(epoch: int, epochs: int, loss: float, ips: float) -> None:
        print(f"  epoch {epoch} loss {loss:.4f} {ips:.1f} img/s", flush=True)

    return pretrain(config, images, device=device, on_progress=on_progress, time_budget_s=budget_s)


def quality(args: argparse.Namespace) -> None:
    import torch

    from ssl_pretrain import METHODS, PretrainConfig, embed, save_encoder
    from ssl_pretrain.compare import pixel_knn
    from ssl_pretrain.evaluate import knn_accuracy, linear_probe_accuracy
    from ssl_pretrain.train import build_method

    t0 = time.perf_counter()
    train_x, train_y = load_cifar(args.zip, "train", args.train_images, seed=0)
    test_x, test_y = load_cifar(args.zip, "test", args.test_images, seed=0)
    print(
        f"loaded {len(train_x)} train / {len(test_x)} test images in {time.perf_counter() - t0:.0f} s"
    )
    baseline = pixel_knn(train_x, train_y, test_x, test_y, k=200, t=0.1)
    print(
        "kNN (k=200, t=0.1) on the pixels: "
        + ", ".join(f"{k} {100 * v:.2f}%" for k, v in baseline.items())
    )
    view_size = args.view_size
    if view_size is None:  # what a CPU budget buys most with (docs/ssl_pretrain.md)
        view_size = 16 if args.device == "cpu" else 0
    for method in args.methods.split(","):
        backbone = "vit_tiny" if method == "mae" else args.backbone
        config = PretrainConfig(
            method=method,
            backbone=backbone,
            epochs=args.epochs or 1,
            batch_size=args.batch_size,
            seed=0,
            compile=args.compile,
            warmup_epochs=args.warmup_epochs,
            view_size=(view_size or None) if METHODS[method].two_views else None,
            precision=args.precision,
            **({"grayscale": args.grayscale} if args.grayscale is not None else {}),
        )
        if not args.epochs:
            config = PretrainConfig(**{**config.to_dict(), "epochs": 10_000})  # an upper bound
        torch.manual_seed(config.seed)  # the very weights pretraining starts from
        random_encoder = build_method(config, 32).encoder
        budget_s = args.budget_min * 60 if not args.epochs else None
        started = time.perf_counter()
        result = train(config, train_x, args.device, budget_s)
        encoder = result.encoder
        steps = sum(h["steps"] for h in result.history)
        minutes = (time.perf_counter() - started) / 60
        rows = {}
        for label, enc in (("pretrained", encoder), ("random init", random_encoder)):
            enc = enc.to(args.device)
            tr = embed(enc, train_x, device=args.device, precision=args.precision)
            te = embed(enc, test_x, device=args.device, precision=args.precision)
            rows[label] = knn_accuracy(tr, train_y, te, test_y, k=200, t=0.1)
            if args.linear_probe:
                rows[label + " linear"] = linear_probe_accuracy(tr, train_y, te, test_y)
            del tr, te
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
        figures = ", ".join(f"{k} {100 * v:.2f}%" for k, v in rows.items())
        print(
            f"{method} {backbone}"
            f"{f', {config.view_size} px views' if config.view_size else ''}"
            f"{f', grayscale p={config.grayscale:g}' if METHODS[method].two_views else ''}: "
            f"{steps} steps of {args.batch_size} ({len(result.history)} "
            f"epoch(s) over {len(train_x)} images) in "
            f"{minutes:.1f} min on {args.device}; kNN (k=200, t=0.1) on {len(test_x)} test: {figures}; "
            f"gain {100 * (rows['pretrained'] - rows['random init']):+.2f} points, "
            f"{100 * (rows['pretrained'] - baseline['standardized pixels']):+.2f} over "
            "standardized pixels"
        )
        if args.save_encoder:
            path = Path(args.save_encoder) / f"{method}-{backbone}.pt"
            save_encoder(encoder.cpu(), path, config=config)
            print(f"wrote {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="part", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--batch-size", type=int, default=256)
    t.add_argument("--steps", type=int, default=4, help="steps per epoch (2 epochs, 2nd timed)")
    t.add_argument("--rounds", type=int, default=1)
    t.add_argument("--workers", type=int, default=2, help="lightly DataLoader workers")
    t.add_argument("--lightly-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    t.add_argument("--no-lightly", action="store_true", help="Quarry's side alone")
    t.add_argument(
        "--lightly-bf16", action="store_true", help="lightly's forward under bf16 autocast too"
    )
    q = sub.add_parser("quality")
    q.add_argument("--budget-min", type=float, default=15.0)
    q.add_argument("--epochs", type=int, default=0, help="fixed epochs instead of a time budget")
    q.add_argument("--train-images", type=int, default=10_000)
    q.add_argument("--test-images", type=int, default=10_000)
    q.add_argument("--batch-size", type=int, default=128)
    q.add_argument("--warmup-epochs", type=int, default=0)
    q.add_argument(
        "--view-size",
        type=int,
        default=None,
        help="side of SimCLR/BYOL's views: 0 = the image size; default 16 on a CPU, "
        "the image size on other devices",
    )
    q.add_argument(
        "--grayscale",
        type=float,
        default=None,
        help="probability of a grayscale view (SimCLR, BYOL; default: PretrainConfig's)",
    )
    q.add_argument("--backbone", default="resnet18")
    q.add_argument("--methods", default="simclr")
    q.add_argument("--compile", action="store_true")
    q.add_argument("--linear-probe", action="store_true")
    q.add_argument(
        "--save-encoder", metavar="DIR", help="write each encoder to DIR/METHOD-BACKBONE.pt"
    )
    w = sub.add_parser("lightly-worker")
    w.add_argument("--folder", required=True)
    w.add_argument("--batch-size", type=int, default=256)
    w.add_argument("--steps", type=int, default=0)
    w.add_argument("--workers", type=int, default=2)
    w.add_argument("--bf16", action="store_true")
    for s in (t, q):
        s.add_argument(
            "--precision",
            default="auto",
            help="Quarry's side: auto (bf16 autocast where the device has native bf16), "
            "float32 or bfloat16",
        )
    for s in (t, q, w):
        s.add_argument("--device", default="cpu")
        s.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    args = p.parse_args()
    if args.part == "lightly-worker":
        lightly_worker(
            args.folder, args.batch_size, args.steps, args.device, args.workers, args.bf16
        )
    elif args.part == "throughput":
        throughput(args)
    else:
        if not args.zip.is_file():
            sys.exit(f"no dataset at {args.zip}")
        quality(args)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
