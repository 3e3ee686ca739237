"""Embeddings against pixels on a labeled image set: labels, split, baselines and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ssl_pretrain import PretrainConfig, embed, save_encoder
from ssl_pretrain.backbones import build_backbone
from ssl_pretrain.compare import (
    compare,
    labels_from_names,
    main,
    pixel_knn,
    pixels,
    stratified_split,
)
from ssl_pretrain.evaluate import knn_accuracy

from .conftest import blobs


def test_labels_come_from_the_first_folder():
    y, classes = labels_from_names(["cat/a.png", "dog/x/b.png", "cat/c.jpg", "ant/d.png"])
    assert classes == ["ant", "cat", "dog"]
    assert y.tolist() == [1, 2, 1, 0]
    with pytest.raises(ValueError, match="is not in a class folder"):
        labels_from_names(["cat/a.png", "b.png"])
    with pytest.raises(ValueError, match="at least two class folders"):
        labels_from_names(["cat/a.png", "cat/b.png"])


def test_split_holds_out_each_class_and_is_seeded():
    y = np.array([0] * 10 + [1] * 4 + [2] * 2)
    train, test = stratified_split(y, test_fraction=0.5, seed=3)
    assert sorted([*train, *test]) == list(range(len(y)))  # a partition
    assert np.bincount(y[test]).tolist() == [5, 2, 1]
    assert np.bincount(y[train]).tolist() == [5, 2, 1]
    again = stratified_split(y, test_fraction=0.5, seed=3)
    assert np.array_equal(again[1], test)
    assert not np.array_equal(stratified_split(y, test_fraction=0.5, seed=4)[1], test)
    with pytest.raises(ValueError, match="each class needs two"):
        stratified_split(np.array([0, 0, 1]), test_fraction=0.5, seed=0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        stratified_split(y, test_fraction=1.0, seed=0)


def test_pixel_baselines_are_knn_on_the_flattened_pixels():
    x, y = blobs(40, 8)
    train, test = stratified_split(y, test_fraction=0.5, seed=0)
    found = pixel_knn(x[train], y[train], x[test], y[test], k=5, t=0.1)
    flat = pixels(x)
    assert flat.shape == (40, 8 * 8 * 3) and flat.max() <= 1.0
    assert found["pixels"] == knn_accuracy(flat[train], y[train], flat[test], y[test], k=5, t=0.1)
    mean, scale = flat[train].mean(0), flat[train].std(0) + 1e-6
    assert found["standardized pixels"] == knn_accuracy(
        (flat[train] - mean) / scale, y[train], (flat[test] - mean) / scale, y[test], k=5, t=0.1
    )
    assert found["pixels"] == 1.0  # the two classes differ in where the bright half is


def test_compare_scores_the_embeddings_on_the_held_out_part():
    torch.manual_seed(0)
    encoder = build_backbone("cnn_small", 16)
    x, y = blobs(30, 16)
    found = compare(encoder, x, y, test_fraction=0.4, k=5, seed=1)
    assert set(found) == {"embeddings", "standardized pixels", "pixels"}
    train, test = stratified_split(y, test_fraction=0.4, seed=1)
    emb = embed(encoder, x)
    assert found["embeddings"] == knn_accuracy(emb[train], y[train], emb[test], y[test], k=5)
    with pytest.raises(ValueError, match="same number of rows"):
        compare(encoder, x, y[:-1])


def write_labeled(folder: Path, images: np.ndarray, y: np.ndarray) -> None:
    for i, (img, label) in enumerate(zip(images, y, strict=True)):
        (folder / f"class{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"class{label}" / f"{i:02d}.png")


def test_cli_prints_the_three_accuracies(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    torch.manual_seed(0)
    encoder = build_backbone("cnn_small", 16)
    save_encoder(encoder, tmp_path / "encoder.pt", config=PretrainConfig(backbone="cnn_small"))
    x, y = blobs(20, 24)  # resized to the encoder's 16 px
    write_labeled(tmp_path / "set", x, y)
    argv = ["--encoder", str(tmp_path / "encoder.pt"), "--images", str(tmp_path / "set")]
    assert main([*argv, "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert "20 images, 2 classes, 16 px; kNN (k=3, t=0.1) on 10 held-out images" in out
    for name in ("embeddings", "standardized pixels", "pixels"):
        assert f"  {name} " in out
    assert "100.00 %" in out.splitlines()[-1]  # pixels separate the blobs


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("flat", "is not in a class folder"),
        ("no-encoder", "no checkpoint at"),
        ("bad-k", "--k must be >= 1"),
    ],
)
def test_cli_bad_input_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, message: str
):
    save_encoder(
        build_backbone("cnn_small", 16),
        tmp_path / "encoder.pt",
        config=PretrainConfig(backbone="cnn_small"),
    )
    x, y = blobs(6, 16)
    write_labeled(tmp_path / "set", x, y)
    if setup == "flat":
        Image.fromarray(x[0]).save(tmp_path / "set" / "loose.png")
    encoder = tmp_path / ("missing.pt" if setup == "no-encoder" else "encoder.pt")
    argv = ["--encoder", str(encoder), "--images", str(tmp_path / "set")]
    assert main([*argv, "--k", "0" if setup == "bad-k" else "3"]) == 2
    assert message in capsys.readouterr().err
