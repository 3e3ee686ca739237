from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_pretrain import PretrainConfig, embed, load_encoder, pretrain, save_encoder
from ssl_pretrain.checkpoint import atomic_save


def test_encoder_round_trip_is_self_describing(
    toy: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    config = PretrainConfig(method="rotation", backbone="cnn_small", epochs=1, batch_size=8)
    result = pretrain(config, toy[0], checkpoint_path=tmp_path / "train.pt")
    save_encoder(result.encoder, tmp_path / "enc.pt", config=config)
    expected = embed(result.encoder, toy[0])
    for path in ("enc.pt", "train.pt"):  # an encoder file or a training checkpoint
        loaded = load_encoder(tmp_path / path)
        assert loaded.name == "cnn_small" and loaded.image_size == 16 and not loaded.training
        np.testing.assert_array_equal(embed(loaded, toy[0]), expected)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_encoder(tmp_path / "missing.pt")
    atomic_save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="is not an ssl_pretrain checkpoint"):
        load_encoder(tmp_path / "other.pt")
    # Files that are not torch checkpoints at all: a clear ValueError, not a pickle error.
    np.save(tmp_path / "embeddings.npy", np.zeros((3, 4), dtype=np.float32))
    (tmp_path / "notes.pt").write_text("garbage\n")
    (tmp_path / "empty.pt").write_bytes(b"")
    for name in ("embeddings.npy", "notes.pt", "empty.pt"):
        with pytest.raises(ValueError, match=f"{name} is not an ssl_pretrain checkpoint"):
            load_encoder(tmp_path / name)
    with pytest.raises(TypeError, match="expected an ssl_pretrain Encoder"):
        save_encoder(torch.nn.Linear(2, 2), tmp_path / "x.pt", config=PretrainConfig())
