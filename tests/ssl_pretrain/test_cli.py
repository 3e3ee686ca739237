from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ssl_pretrain import load_encoder
from ssl_pretrain.checkpoint import load_checkpoint
from ssl_pretrain.cli import main

from .conftest import blobs


def test_cli_writes_checkpoint_encoder_and_embeddings(tmp_path: Path) -> None:
    images, _ = blobs(12, 16)
    for i, img in enumerate(images):
        Image.fromarray(img).save(tmp_path / f"{i:02d}.png")
    out = tmp_path / "run"
    argv = [
        "--images",
        str(tmp_path),
        "--out",
        str(out),
        "--backbone",
        "cnn_small",
        "--epochs",
        "2",
        "--batch-size",
        "4",
    ]
    assert main(argv) == 0
    emb = np.load(out / "embeddings.npy")
    assert emb.shape == (12, 128) and emb.dtype == np.float32
    assert (out / "names.txt").read_text().split() == [f"{i:02d}.png" for i in range(12)]
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1, 2]
    assert load_encoder(out / "encoder.pt").name == "cnn_small"
    assert main([*argv, "--resume"]) == 0  # already complete: nothing left to train
    assert len(json.loads((out / "history.json").read_text())) == 2


def test_cli_resume_with_another_config_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, _ = blobs(8, 16)
    for i, img in enumerate(images):
        Image.fromarray(img).save(tmp_path / f"{i}.png")
    argv = [
        "--images",
        str(tmp_path),
        "--out",
        str(tmp_path / "run"),
        "--backbone",
        "cnn_small",
        "--batch-size",
        "4",
        "--no-progress",
    ]
    assert main([*argv, "--epochs", "1"]) == 0
    assert main([*argv, "--epochs", "2", "--resume"]) == 2
    assert "different config" in capsys.readouterr().err


def test_cli_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--images", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no images found" in capsys.readouterr().err
    assert main(["--images", str(tmp_path), "--out", "o", "--method", "mae"]) == 2
    assert "needs a ViT backbone" in capsys.readouterr().err


def _write_pool(folder: Path, n: int, size: int) -> None:
    images, _ = blobs(n, size)
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"{i:02d}.png")


def test_cli_brings_tiny_images_up_to_the_smallest_standard_size(tmp_path: Path) -> None:
    _write_pool(tmp_path, 8, 8)
    base = ["--images", str(tmp_path), "--backbone", "cnn_small", "--epochs", "1"]
    base += ["--batch-size", "4", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "default")]) == 0
    assert load_encoder(tmp_path / "default" / "encoder.pt").image_size == 16
    assert np.load(tmp_path / "default" / "embeddings.npy").shape == (8, 128)
    assert main([*base, "--out", str(tmp_path / "as-is"), "--image-size", "8"]) == 0
    assert load_encoder(tmp_path / "as-is" / "encoder.pt").image_size == 8


def test_cli_minutes_ends_the_run_by_the_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_pool(tmp_path, 8, 16)
    out = tmp_path / "run"
    argv = ["--images", str(tmp_path), "--out", str(out), "--backbone", "cnn_small"]
    argv += ["--batch-size", "4", "--no-progress"]
    assert main([*argv, "--minutes", "0.01"]) == 0  # 0.6 s, far fewer than the epoch bound
    history = json.loads((out / "history.json").read_text())
    assert 1 <= len(history) < 10_000
    assert (out / "embeddings.npy").exists()
    assert main([*argv, "--minutes", "0"]) == 2
    assert "--minutes must be > 0" in capsys.readouterr().err
    assert main([*argv, "--minutes", "1", "--resume"]) == 2
    assert "cannot be resumed" in capsys.readouterr().err


def test_cli_keeps_the_config_of_a_pool_at_a_standard_size(tmp_path: Path) -> None:
    """A 16 px pool trains as it is, so checkpoints written before the size rule still resume."""
    _write_pool(tmp_path, 8, 16)
    out = tmp_path / "run"
    argv = ["--images", str(tmp_path), "--out", str(out), "--backbone", "cnn_small"]
    assert main([*argv, "--epochs", "1", "--batch-size", "4", "--no-progress"]) == 0
    assert load_checkpoint(out / "checkpoint.pt")["config"]["image_size"] is None


def test_cli_precision_is_kept_in_the_checkpoint_and_checked_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_pool(tmp_path, 8, 16)
    argv = ["--images", str(tmp_path), "--out", str(tmp_path / "run"), "--backbone", "cnn_small"]
    argv += ["--batch-size", "4", "--no-progress"]
    assert main([*argv, "--epochs", "1", "--precision", "float32"]) == 0
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["config"]["precision"] == "float32"
    assert main([*argv, "--epochs", "1", "--precision", "bfloat16", "--resume"]) == 2
    assert "different config" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv, "--precision", "fp16"])
    assert "invalid choice: 'fp16'" in capsys.readouterr().err


def test_cli_grayscale_reaches_the_views_and_the_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_pool(tmp_path, 8, 16)
    argv = ["--images", str(tmp_path), "--out", str(tmp_path / "run"), "--backbone", "cnn_small"]
    argv += ["--batch-size", "4", "--no-progress", "--epochs", "1"]
    assert main([*argv, "--grayscale", "0.9"]) == 0
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["config"]["grayscale"] == 0.9
    assert main([*argv, "--grayscale", "2"]) == 2
    assert "grayscale must be a probability in [0, 1], got 2.0" in capsys.readouterr().err
    assert main([*argv, "--method", "rotation", "--grayscale", "0.9"]) == 2
    assert "grayscale applies to the two-view methods" in capsys.readouterr().err
