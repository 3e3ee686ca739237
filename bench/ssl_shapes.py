"""Pretraining on a set where colour says nothing of the class: shapes in random colours.

    python bench/ssl_shapes.py                     # cnn_small, 100 epochs, seeds 0-2
    python bench/ssl_shapes.py --grayscale 0.2     # SimCLR's original grayscale share

Writes 1,800 images of 32 x 32 px in three class folders (circle, square, triangle, 600
each): the shape at a random position, its side 30-70 % of the image, in a random colour
on a random background, with pixel noise. Then, as ``bench/ssl_digits.py`` does, runs
``python -m ssl_pretrain --images SHAPES --backbone cnn_small ...`` and compares weighted
kNN (k=20) on half of each class held out, from the embeddings and from the pixels.

The two views of an image share its two colours, and in a batch those colours tell the
images apart well enough to match the views without looking at the shape; how often a
view is made grayscale (``--grayscale``) decides whether the encoder learns the shape.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ssl_digits import parser, run_seeds  # noqa: E402

SIDE = 32
PER_CLASS = 600


def write_shapes(folder: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for shape in ("circle", "square", "triangle"):
        (folder / shape).mkdir()
        for i in range(PER_CLASS):
            background, colour = (tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in "ab")
            image = Image.new("RGB", (SIDE, SIDE), background)
            size = rng.uniform(0.3, 0.7) * SIDE
            x, y = rng.uniform(0, SIDE - size, 2)
            draw = ImageDraw.Draw(image)
            if shape == "circle":
                draw.ellipse([x, y, x + size, y + size], fill=colour)
            elif shape == "square":
                draw.rectangle([x, y, x + size, y + size], fill=colour)
            else:
                draw.polygon([(x + size / 2, y), (x, y + size), (x + size, y + size)], fill=colour)
            noisy = np.asarray(image, dtype=np.int16) + rng.integers(-20, 21, (SIDE, SIDE, 3))
            Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(folder / shape / f"{i}.png")


def main() -> None:
    run_seeds("shapes", write_shapes, parser(__doc__.splitlines()[0], 100).parse_args())


if __name__ == "__main__":
    main()
