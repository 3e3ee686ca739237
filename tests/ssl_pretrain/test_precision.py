"""Precision: bf16 autocast where the device has it natively, float32 elsewhere, forced on demand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_pretrain import PretrainConfig, embed, finetune, pretrain
from ssl_pretrain import precision as precision_module
from ssl_pretrain.methods import simclr as simclr_module
from ssl_pretrain.methods.simclr import nt_xent
from ssl_pretrain.precision import autocast, resolve_precision

from .conftest import blobs

CPU = torch.device("cpu")


def test_auto_follows_the_cpus_native_bf16(monkeypatch) -> None:
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", CPU) == "bfloat16"
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", CPU) == "float32"
    assert resolve_precision("auto", torch.device("cuda")) == "bfloat16"  # no device touched
    assert resolve_precision("bfloat16", CPU) == "bfloat16"
    assert resolve_precision("float32", torch.device("cuda")) == "float32"


@pytest.mark.parametrize(
    ("precision", "dtype"), [("float32", torch.float32), ("bfloat16", torch.bfloat16)]
)
def test_the_forward_pass_runs_in_the_chosen_precision(precision, dtype) -> None:
    layer = torch.nn.Linear(4, 3)
    with autocast(precision, CPU):
        out = layer(torch.ones(2, 4))
    assert out.dtype == dtype
    assert layer.weight.dtype == torch.float32  # the weights stay float32


def test_nt_xent_stays_float32_under_autocast() -> None:
    gen = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(8, 16, generator=gen), torch.randn(8, 16, generator=gen)
    plain = nt_xent(z1, z2, 0.5)
    with autocast("bfloat16", CPU):
        cast = nt_xent(z1, z2, 0.5)
    assert cast.dtype == torch.float32 and torch.equal(cast, plain)


def test_an_unknown_precision_is_refused_everywhere() -> None:
    images, labels = blobs(8)
    encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16 * 16 * 3, 4))
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16"):
        PretrainConfig(precision="fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        embed(encoder, images, precision="half")
    with pytest.raises(ValueError, match="precision must be one of"):
        finetune(encoder, images, labels, n_classes=2, precision="int8")


@pytest.mark.parametrize(
    ("precision", "dtype"), [("float32", torch.float32), ("bfloat16", torch.bfloat16)]
)
def test_pretraining_runs_in_the_configured_precision(monkeypatch, precision, dtype) -> None:
    seen: list[torch.dtype] = []

    def recording(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
        seen.append(z1.dtype)
        return nt_xent(z1, z2, temperature)

    monkeypatch.setattr(simclr_module, "nt_xent", recording)
    images, _ = blobs(32)
    config = PretrainConfig(
        method="simclr", backbone="cnn_small", epochs=2, batch_size=16, seed=0, precision=precision
    )
    result = pretrain(config, images)
    assert seen == [dtype] * 4  # the projections of every step
    assert all(np.isfinite(h["loss"]) for h in result.history)
    for p in result.encoder.parameters():
        assert p.dtype == torch.float32 and torch.isfinite(p).all()
    full = embed(result.encoder, images, precision="float32")
    same = embed(result.encoder, images, precision=precision)
    assert same.dtype == np.float32 and same.shape == full.shape
    assert np.array_equal(same, embed(result.encoder, images, precision=precision))
    # bf16 keeps about 3 significant digits: close to the float32 features.
    cos = (same * full).sum(1) / (np.linalg.norm(same, axis=1) * np.linalg.norm(full, axis=1))
    assert cos.min() > 0.99
