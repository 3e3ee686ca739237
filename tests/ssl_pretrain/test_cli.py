from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ssl_pretrain import load_encoder
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
