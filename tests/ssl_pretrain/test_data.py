from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ssl_pretrain.data import load_images


def _save(
    path: Path, size: tuple[int, int] = (16, 16), mode: str = "RGB", value: int = 100
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(path)


def test_loads_a_folder_recursively_sorted(tmp_path: Path) -> None:
    _save(tmp_path / "b" / "2.png", value=2)
    _save(tmp_path / "a.png", value=1)
    (tmp_path / "notes.txt").write_text("not an image")
    images, names = load_images(tmp_path)
    assert names == ["a.png", "b/2.png"]
    assert images.shape == (2, 16, 16, 3) and images.dtype == np.uint8
    assert images[0, 0, 0, 0] == 1 and images[1, 0, 0, 0] == 2


def test_loads_a_zip(tmp_path: Path) -> None:
    _save(tmp_path / "src" / "x.png")
    with zipfile.ZipFile(tmp_path / "pool.zip", "w") as zf:
        zf.write(tmp_path / "src" / "x.png", "pool/x.png")
        zf.writestr("__MACOSX/pool/._x.png", b"junk")
    images, names = load_images(tmp_path / "pool.zip")
    assert names == ["pool/x.png"] and images.shape == (1, 16, 16, 3)


def test_size_resizes_and_converts(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", size=(20, 12))
    _save(tmp_path / "b.png", size=(16, 16), mode="L")
    images, _ = load_images(tmp_path, size=16)
    assert images.shape == (2, 16, 16, 3)


def test_empty_pool(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no images found"):
        load_images(tmp_path)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such folder or zip"):
        load_images(tmp_path / "nope")


def test_mixed_sizes(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", size=(16, 16))
    _save(tmp_path / "b.png", size=(20, 16))
    with pytest.raises(ValueError, match="mixed sizes: a.png is 16x16, b.png is 20x16"):
        load_images(tmp_path)


def test_grayscale_mixed_with_rgb(tmp_path: Path) -> None:
    _save(tmp_path / "a.png")
    _save(tmp_path / "b.png", mode="L")
    with pytest.raises(ValueError, match=r"mixes grayscale \(b.png\) and colour \(a.png\)"):
        load_images(tmp_path)


def test_images_smaller_than_a_patch(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", size=(4, 4))
    with pytest.raises(ValueError, match="smaller than the minimum 8 px"):
        load_images(tmp_path)


def test_unreadable_image(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"bad.png: not a readable image \(unknown format\)$"):
        load_images(tmp_path)
