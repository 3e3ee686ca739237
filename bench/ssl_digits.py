"""Pretraining on a set nobody here chose: scikit-learn's digits, through the CLI. Prints figures.

    python bench/ssl_digits.py                       # cnn_small, 200 epochs, seeds 0-2
    python bench/ssl_digits.py --minutes 3 --seeds 1 # a time budget instead of epochs

Does what a new user would: writes the 1,797 digits as 8 x 8 grayscale PNGs in class
folders, runs ``python -m ssl_pretrain --images DIGITS --backbone cnn_small ...`` (which
brings the 8 px images up to 16 px) and ``python -m ssl_pretrain.compare``'s comparison:
weighted kNN (k=20) on half of each class held out, from the embeddings and from the pixels.
Pixels are scored both at the encoder's input size (as ``compare`` does) and at the images'
own 8 px, and the embeddings are held against the better of the two.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labeling.digits import write_digits  # noqa: E402


def run(folder: Path, args: argparse.Namespace, seed: int) -> dict[str, float]:
    from ssl_pretrain import load_encoder
    from ssl_pretrain.cli import main as cli
    from ssl_pretrain.compare import compare, labels_from_names, pixel_knn, stratified_split
    from ssl_pretrain.data import load_images

    out = folder.parent / f"run-{seed}"
    argv = ["--images", str(folder), "--out", str(out), "--backbone", args.backbone]
    argv += ["--batch-size", str(args.batch_size), "--seed", str(seed), "--no-progress"]
    argv += ["--minutes", str(args.minutes)] if args.minutes else ["--epochs", str(args.epochs)]
    argv += ["--grayscale", str(args.grayscale)] if args.grayscale is not None else []
    started = time.perf_counter()
    if cli(argv) != 0:
        sys.exit("pretraining failed")
    minutes = (time.perf_counter() - started) / 60
    encoder = load_encoder(out / "encoder.pt")
    images, names = load_images(folder, size=encoder.image_size)
    y, _ = labels_from_names(names)
    result = compare(encoder, images, y, k=20)
    native, _ = load_images(folder)
    if native.shape[1] != encoder.image_size:
        train, test = stratified_split(y, test_fraction=0.5, seed=0)
        own = pixel_knn(native[train], y[train], native[test], y[test], k=20, t=0.1)
        result.update({f"{key} at {native.shape[1]} px": v for key, v in own.items()})
    result["minutes"] = minutes
    result["size"] = encoder.image_size
    return result


def parser(description: str, epochs: int) -> argparse.ArgumentParser:
    """The options of the benches that pretrain on a labeled set through the CLI."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--backbone", default="cnn_small")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--minutes", type=float, default=0, help="a time budget instead of --epochs")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--grayscale", type=float, default=None, help="the CLI's --grayscale")
    return p


def run_seeds(name: str, write, args: argparse.Namespace) -> None:
    """``write(folder)`` the labeled set, then pretrain and compare once per seed."""
    with tempfile.TemporaryDirectory(prefix=f"quarry-{name}-") as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        write(folder)
        for seed in range(args.seeds):
            r = run(folder, args, seed)
            pixels = {k: v for k, v in r.items() if "pixels" in k}
            best = max(pixels, key=pixels.__getitem__)
            print(
                f"seed {seed}: {args.backbone} at {r['size']} px, {r['minutes']:.1f} min: "
                f"embeddings {100 * r['embeddings']:.2f}%, "
                + ", ".join(f"{k} {100 * v:.2f}%" for k, v in pixels.items())
                + f"; {100 * (r['embeddings'] - pixels[best]):+.2f} points over {best}",
                flush=True,
            )


def main() -> None:
    run_seeds("digits", write_digits, parser(__doc__.splitlines()[0], 200).parse_args())


if __name__ == "__main__":
    main()
