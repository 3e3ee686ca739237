"""3x3 convolutions on 2x2 maps as one matrix product: same values, same gradients, same
parameters, and only where the map is that small."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18

from ssl_pretrain import small_conv
from ssl_pretrain.backbones import _small_stem, build_backbone
from ssl_pretrain.small_conv import PatchMatmulConv2d, conv3x3_as_matmul, patch_matmul_convs


@pytest.mark.parametrize("hw", [(1, 1), (1, 2), (2, 2), (3, 5)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_values_and_gradients_match_the_convolution(hw, channels_last):
    torch.manual_seed(0)
    x = torch.randn(3, 5, *hw, dtype=torch.float64)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    weight = torch.randn(4, 5, 3, 3, dtype=torch.float64)
    bias = torch.randn(4, dtype=torch.float64)
    inputs = [t.requires_grad_(True) for t in (x, weight, bias)]
    got = conv3x3_as_matmul(*inputs)
    want = F.conv2d(*inputs, padding=1)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want)
    grad = torch.randn_like(want)
    got_grads = torch.autograd.grad(got, inputs, grad)
    want_grads = torch.autograd.grad(want, inputs, grad)
    for g, w in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(g, w)
    assert got.is_contiguous(memory_format=torch.channels_last)


def test_under_bf16_autocast_it_multiplies_in_bf16_as_the_convolution_does():
    torch.manual_seed(0)
    x = torch.randn(8, 64, 2, 2)
    weight = torch.randn(32, 64, 3, 3) * 0.05
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = conv3x3_as_matmul(x, weight)
        want = F.conv2d(x, weight, padding=1)
    assert got.dtype == want.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), want.float(), atol=0.05, rtol=0.02)


def test_only_2x2_maps_on_the_cpu_take_the_matrix_product(monkeypatch):
    calls = []
    real = small_conv.conv3x3_as_matmul

    def recorded(x, weight, bias=None):
        calls.append(tuple(x.shape[-2:]))
        return real(x, weight, bias)

    monkeypatch.setattr(small_conv, "conv3x3_as_matmul", recorded)
    conv = patch_matmul_convs(nn.Sequential(nn.Conv2d(6, 6, 3, padding=1)))[0]
    for size in (1, 2, 3, 4):
        out = conv(torch.randn(2, 6, size, size))
        assert out.shape == (2, 6, size, size)
    assert calls == [(1, 1), (2, 2)]


def test_a_resnet_keeps_its_parameters_and_its_outputs():
    encoder = build_backbone("resnet18", 16)
    swapped = [n for n, m in encoder.named_modules() if type(m) is PatchMatmulConv2d]
    kept = [n for n, m in encoder.named_modules() if type(m) is nn.Conv2d]
    # 3x3 stride-1 convolutions only: the stem and 13 of the blocks' 16 (3 have stride 2)
    assert len(swapped) == 14 and "trunk.net.conv1" in swapped
    assert "trunk.net.layer4.0.conv1" in kept  # stride 2
    assert "trunk.net.layer4.0.downsample.0" in kept  # 1x1
    plain = resnet18(weights=None)
    _small_stem(plain)
    plain.fc = nn.Identity()
    names = {f"trunk.net.{k}" for k in plain.state_dict()}
    assert set(encoder.state_dict()) == names

    encoder.eval()
    x = torch.rand(4, 3, 16, 16)  # the last stage works on 2x2 maps
    with torch.no_grad():
        got = encoder(x)
        for name in swapped:
            encoder.get_submodule(name).__class__ = nn.Conv2d
        want = encoder(x)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
