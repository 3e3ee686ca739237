"""scikit-learn's bundled handwritten digits as PNG class folders (no Django needed): the
demo project imports them, and ``bench/ssl_digits.py`` pretrains on them."""

from __future__ import annotations

from pathlib import Path


def write_digits(folder: Path, size: int | None = None) -> int:
    """The 1,797 digits as ``folder/<digit>/<index>.png``: 8 px grayscale as they are, or
    upscaled to ``size`` px in RGB. Returns how many were written."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.clip(digits.images * (255.0 / 16.0), 0, 255).astype(np.uint8)
    for index, (image, target) in enumerate(zip(pixels, digits.target, strict=True)):
        out = folder / str(int(target))
        out.mkdir(exist_ok=True)
        picture = Image.fromarray(image, mode="L")
        if size is not None:
            picture = picture.resize((size, size), Image.Resampling.BILINEAR).convert("RGB")
        picture.save(out / f"{index:04d}.png")
    return len(pixels)
