"""Does an encoder help on a labeled image set? kNN on its embeddings against kNN on pixels.

    python -m ssl_pretrain.compare --encoder run/encoder.pt --images LABELED_DIR_OR_ZIP

Labels come from the first folder level (``class/.../image.png``, as in torchvision's
ImageFolder). Every image is resized to the encoder's input size, so pixels and embeddings
see the same images. A seeded, stratified split holds out ``--test-fraction`` of each
class. The same weighted cosine kNN (``evaluate.knn_accuracy``) then classifies the held-out
images from three representations:

- the encoder's embeddings;
- standardized pixels: each pixel value centred and scaled on the training part, the usual
  raw-input baseline;
- pixels as they are (values in [0, 1]).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from .checkpoint import load_encoder
from .data import load_images
from .embed import embed
from .evaluate import knn_accuracy


def labels_from_names(names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Class index per image from its first folder, and the sorted class names."""
    folders = []
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if len(parts) < 2:
            raise ValueError(
                f"{name} is not in a class folder: put each class's images in a folder "
                "named after the class (class/image.png)"
            )
        folders.append(parts[0])
    classes = sorted(set(folders))
    if len(classes) < 2:
        raise ValueError(f"need at least two class folders, found {classes}")
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[f] for f in folders], dtype=np.int64), classes


def stratified_split(
    y: np.ndarray, *, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices: ``test_fraction`` of each class (at least one) held out."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        if len(rows) < 2:
            raise ValueError(f"class {label} has {len(rows)} image(s); each class needs two")
        n_test = min(len(rows) - 1, max(1, round(len(rows) * test_fraction)))
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def pixels(images: np.ndarray) -> np.ndarray:
    """Flattened pixel values in [0, 1], float32 ``[n, H * W * 3]``."""
    return np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255.0


def pixel_knn(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    *,
    k: int,
    t: float,
) -> dict[str, float]:
    """kNN accuracy on standardized pixels and on pixels as they are (uint8 images)."""
    train_p, test_p = pixels(train_x), pixels(test_x)
    mean = train_p.mean(axis=0)
    scale = train_p.std(axis=0) + 1e-6
    return {
        "standardized pixels": knn_accuracy(
            (train_p - mean) / scale, train_y, (test_p - mean) / scale, test_y, k=k, t=t
        ),
        "pixels": knn_accuracy(train_p, train_y, test_p, test_y, k=k, t=t),
    }


def compare(
    encoder: nn.Module,
    images: np.ndarray,
    y: np.ndarray,
    *,
    test_fraction: float = 0.5,
    k: int = 20,
    t: float = 0.1,
    seed: int = 0,
    device: Any = "cpu",
) -> dict[str, float]:
    """kNN accuracy on held-out images from the embeddings and from the pixels."""
    if len(images) != len(y):
        raise ValueError("images and labels must have the same number of rows")
    train, test = stratified_split(np.asarray(y), test_fraction=test_fraction, seed=seed)
    emb = embed(encoder, images, device=device)
    result = {"embeddings": knn_accuracy(emb[train], y[train], emb[test], y[test], k=k, t=t)}
    result.update(pixel_knn(images[train], y[train], images[test], y[test], k=k, t=t))
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ssl_pretrain.compare",
        description="kNN accuracy of an encoder's embeddings against pixels on labeled images",
    )
    parser.add_argument("--encoder", required=True, help="encoder.pt or checkpoint.pt")
    parser.add_argument("--images", required=True, help="folder or .zip of class/image files")
    parser.add_argument("--test-fraction", type=float, default=0.5)
    parser.add_argument("--k", type=int, default=20, help="neighbours that vote")
    parser.add_argument("--t", type=float, default=0.1, help="vote temperature")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.k < 1:
            raise ValueError(f"--k must be >= 1, got {args.k}")
        encoder = load_encoder(args.encoder, device=args.device)
        images, names = load_images(args.images, size=encoder.image_size)
        y, classes = labels_from_names(names)
        result = compare(
            encoder,
            images,
            y,
            test_fraction=args.test_fraction,
            k=args.k,
            t=args.t,
            seed=args.seed,
            device=args.device,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n_test = len(stratified_split(y, test_fraction=args.test_fraction, seed=args.seed)[1])
    print(
        f"{len(images)} images, {len(classes)} classes, {encoder.image_size} px; "
        f"kNN (k={args.k}, t={args.t}) on {n_test} held-out images:"
    )
    for name, accuracy in result.items():
        print(f"  {name:<20} {100 * accuracy:6.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
