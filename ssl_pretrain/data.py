"""Image pools: load a folder or zip into one uint8 ``[n, H, W, 3]`` array, with clear errors."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MIN_SIDE = 8  # the smallest ViT patch we use is 4 px; below 8 px nothing learns


def as_uint8_tensor(images: Any) -> torch.Tensor:
    """Validate a pool given as numpy or torch uint8 ``[n, H, W, 3]``; returns a CPU tensor."""
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8:
            raise ValueError(f"images must be uint8, got {images.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(images))
    elif isinstance(images, torch.Tensor):
        if images.dtype != torch.uint8:
            raise ValueError(f"images must be uint8, got {images.dtype}")
        tensor = images.detach().cpu().contiguous()
    else:
        raise TypeError(
            f"images must be a numpy array or torch tensor, got {type(images).__name__}"
        )
    if tensor.ndim != 4 or tensor.shape[-1] != 3:
        hint = " (grayscale images must be converted to RGB)" if tensor.ndim == 3 else ""
        raise ValueError(
            f"images must have shape [n, H, W, 3] (RGB), got {tuple(tensor.shape)}{hint}"
        )
    if tensor.shape[0] == 0:
        raise ValueError("the image pool is empty")
    if min(tensor.shape[1], tensor.shape[2]) < MIN_SIDE:
        raise ValueError(
            f"images are {tensor.shape[1]}x{tensor.shape[2]} px, smaller than the minimum "
            f"{MIN_SIDE} px (a ViT patch is 4-16 px)"
        )
    return tensor


def resize_pool(pool: torch.Tensor, size: int, chunk: int = 1024) -> torch.Tensor:
    """Resize a uint8 ``[n, H, W, 3]`` pool to ``size`` x ``size`` (antialiased), chunk by chunk."""
    if pool.shape[1] == size and pool.shape[2] == size:
        return pool
    out = torch.empty((pool.shape[0], size, size, 3), dtype=torch.uint8)
    for start in range(0, pool.shape[0], chunk):
        x = pool[start : start + chunk].permute(0, 3, 1, 2).float()
        y = F.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        out[start : start + chunk] = y.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return out


def _iter_files(source: Path) -> Iterator[tuple[str, bytes]]:
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                yield str(path.relative_to(source)), path.read_bytes()
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                name = info.filename
                if info.is_dir() or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                if "__MACOSX" in name.split("/"):
                    continue
                yield name, zf.read(info)
    else:
        raise ValueError(f"{source} is neither a folder nor a zip file")


def load_images(
    dir_or_zip: str | os.PathLike[str], *, size: int | None = None
) -> tuple[np.ndarray, list[str]]:
    """Decode every image in a folder (recursively) or zip, sorted by name.

    Without ``size`` all images must share one size and be RGB (a grayscale image among RGB
    ones is an error, so a mixed pool is noticed rather than silently converted). With ``size``
    every image is converted to RGB and resized to ``size`` x ``size``.
    """
    source = Path(dir_or_zip)
    if not source.exists():
        raise FileNotFoundError(f"no such folder or zip: {source}")
    arrays: list[np.ndarray] = []
    names: list[str] = []
    modes: dict[str, str] = {}
    for name, raw in _iter_files(source):
        try:
            with Image.open(io.BytesIO(raw)) as opened:
                opened.load()
                rgb = opened.convert("RGB")
                if size is not None:
                    rgb = rgb.resize((size, size), Image.Resampling.BICUBIC)
                elif opened.mode in ("L", "LA", "1", "I", "I;16", "F"):
                    modes.setdefault("gray", name)
                else:
                    modes.setdefault("rgb", name)
                array = np.asarray(rgb, dtype=np.uint8)
        except UnidentifiedImageError as exc:
            raise ValueError(f"{name}: not a readable image (unknown format)") from exc
        except OSError as exc:
            raise ValueError(f"{name}: not a readable image ({exc})") from exc
        if arrays and array.shape != arrays[0].shape:
            raise ValueError(
                f"images have mixed sizes: {names[0]} is {arrays[0].shape[1]}x{arrays[0].shape[0]}, "
                f"{name} is {array.shape[1]}x{array.shape[0]}; pass size= (--image-size) to resize them"
            )
        arrays.append(array)
        names.append(name)
    if not arrays:
        raise ValueError(
            f"no images found in {source} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    if "gray" in modes and "rgb" in modes:
        raise ValueError(
            f"the pool mixes grayscale ({modes['gray']}) and colour ({modes['rgb']}) images; "
            "convert them to one mode or pass size= (--image-size) to convert all to RGB"
        )
    pool = np.stack(arrays)
    as_uint8_tensor(pool)  # the size check
    return pool, names
