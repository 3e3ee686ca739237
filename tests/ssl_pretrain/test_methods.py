from __future__ import annotations

import pytest
import torch

from ssl_pretrain import PretrainConfig
from ssl_pretrain.augment import to_float
from ssl_pretrain.methods.mae import patchify
from ssl_pretrain.methods.rotation import rotate_per_sample
from ssl_pretrain.methods.simclr import nt_xent
from ssl_pretrain.train import build_method

from .conftest import blobs


def _fixed_loss(method: torch.nn.Module, x: torch.Tensor) -> float:
    with torch.random.fork_rng():
        torch.manual_seed(1234)  # the same views / masks / rotations every time
        with torch.no_grad():
            return float(method.loss(x))


@pytest.mark.parametrize(
    ("name", "backbone"),
    [
        ("simclr", "cnn_small"),
        ("rotation", "cnn_small"),
        ("byol", "cnn_small"),
        ("mae", "vit_tiny"),
    ],
)
def test_loss_decreases_over_a_few_steps(name: str, backbone: str) -> None:
    torch.manual_seed(0)
    images, _ = blobs(16, 16)
    x = to_float(torch.from_numpy(images))
    # The toy images of one class differ only in their colour noise. With half of SimCLR's
    # views grayscale (the default) 12 steps leave its loss at chance, log(31) = 3.43, on
    # them; with SimCLR's original fifth they do not. (Which share learns better on real
    # images is for the benches: bench/ssl_pretrain.py quality, bench/ssl_shapes.py.)
    extra = {"grayscale": 0.2} if name == "simclr" else {}
    config = PretrainConfig(method=name, backbone=backbone, batch_size=16, **extra)
    method = build_method(config, 16)
    method.train()
    optimizer = torch.optim.Adam([p for p in method.parameters() if p.requires_grad], lr=1e-3)
    before = _fixed_loss(method, x)
    for step in range(12):
        loss = method(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        method.after_step((step + 1) / 12)
    after = _fixed_loss(method, x)
    assert after < before, (name, before, after)


def test_nt_xent_prefers_matching_views() -> None:
    z = torch.randn(8, 16)
    assert nt_xent(z, z + 0.01 * torch.randn_like(z), 0.5) < nt_xent(z, torch.randn(8, 16), 0.5)


def test_rotation_is_per_sample() -> None:
    x = torch.arange(2 * 1 * 2 * 2, dtype=torch.float32).reshape(2, 1, 2, 2)
    out = rotate_per_sample(x, torch.tensor([0, 1]))
    assert torch.equal(out[0], x[0])
    assert torch.equal(out[1], torch.rot90(x[1], 1, dims=(1, 2)))


def test_patchify_matches_vit_patch_order() -> None:
    x = torch.zeros(1, 3, 8, 8)
    x[0, :, 0:4, 4:8] = 1.0  # the second patch in row-major order
    patches = patchify(x, 4)
    assert patches.shape == (1, 4, 48)
    assert patches[0, 1].min() == 1 and patches[0, [0, 2, 3]].max() == 0


def test_byol_target_follows_online_by_momentum() -> None:
    method = build_method(PretrainConfig(method="byol", backbone="cnn_small"), 16)
    with torch.no_grad():
        for p in method.encoder.parameters():
            p.add_(1.0)
    before = [p.clone() for p in method.target_encoder.parameters()]
    method.after_step(0.0)  # momentum 0.99 at the start
    for b, t, o in zip(
        before, method.target_encoder.parameters(), method.encoder.parameters(), strict=True
    ):
        assert torch.allclose(t, 0.99 * b + 0.01 * o, atol=1e-6)
    assert not any(p.requires_grad for p in method.target_encoder.parameters())
