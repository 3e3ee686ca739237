"""3x3 convolutions on the smallest feature maps as one matrix product, on the CPU.

On a CPU, oneDNN's direct convolution handles 2x2 maps poorly. A ResNet's last stage
works on 2x2 maps when it is fed 16 px views (the CPU default of the quality bench), as
``cnn_small``'s last layer does on 8 px views, and there the same arithmetic runs several
times faster as a matrix product. Every encoder's trunk gets this (``Encoder``); which
path a layer takes is decided by the size of the map it is given. Each output
pixel's 3x3 patch becomes a row (im2col), and one product with the weights, taken as a
``[out, 3 * 3 * in]`` matrix, gives every output at once.

Measured on a 2-core Intel Xeon with AMX, 256 maps of 512 channels at 2x2, forward and
backward (`/tmp` micro-benchmark; docs/ssl_pretrain.md):
- under bf16 autocast: 173-192 ms as a convolution against 50-58 ms as a matrix product;
- in float32: 173 against 91 ms.

How much it gains depends on the CPU's kernels. On a 2-core AMD EPYC with AVX-512 BF16 and
no AMX, where oneDNN's 2x2 convolutions are faster, a whole SimCLR step (ResNet-18, 128
pairs of 16 px views, the two layer kinds alternated in one process) took 1.07-1.13x less
CPU with the product under bf16 autocast, and 1.05-1.08x more in float32. The rule stays
one rule, by map size: bf16 is the default on both CPUs, and in float32 the AMX Xeon's
gain (1.36x per step) outweighs the EPYC's loss.

From 4x4 maps up the convolution is faster again, and the product's patch copy grows
with the map, so only maps of at most ``MAX_PIXELS`` pixels take this path. Elsewhere (a
larger map, a GPU, another kind of convolution) the layer is the ``nn.Conv2d`` it
replaces. The parameters and their names are unchanged, so checkpoints are the same.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MAX_PIXELS = 4  # 2x2 maps


class PatchMatmulConv2d(nn.Conv2d):
    """A 3x3, stride-1, padding-1 ``nn.Conv2d`` that runs as a matrix product on a CPU
    when its input map has at most ``MAX_PIXELS`` pixels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dim() == 4 and x.shape[-2] * x.shape[-1] <= MAX_PIXELS:
            return conv3x3_as_matmul(x, self.weight, self.bias)
        return super().forward(x)


def conv3x3_as_matmul(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, padding=1)`` for a 3x3 kernel, computed as one matrix
    product over the input's 3x3 patches; the result's memory is channels_last."""
    if torch.is_autocast_enabled("cpu"):
        # the patches are copied once, in the product's type, not copied and then cast
        x = x.to(torch.get_autocast_dtype("cpu"))
    n, c, h, w = x.shape
    out_channels = weight.shape[0]
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)  # [n, h + 2, w + 2, c]
    patches = padded.unfold(1, 3, 1).unfold(2, 3, 1)  # [n, h, w, c, 3, 3]
    rows = patches.permute(0, 1, 2, 4, 5, 3).reshape(n * h * w, 9 * c)
    matrix = weight.permute(0, 2, 3, 1).reshape(out_channels, 9 * c)
    out = rows @ matrix.t()
    if bias is not None:
        out = out + bias.to(out.dtype)
    return out.view(n, h, w, out_channels).permute(0, 3, 1, 2)


def patch_matmul_convs(module: nn.Module) -> nn.Module:
    """Turn every plain 3x3, stride-1, padding-1 convolution in ``module`` into a
    :class:`PatchMatmulConv2d` in place (same parameters); returns ``module``."""
    for layer in module.modules():
        if (
            type(layer) is nn.Conv2d
            and layer.kernel_size == (3, 3)
            and layer.stride == (1, 1)
            and layer.padding == (1, 1)
            and layer.dilation == (1, 1)
            and layer.groups == 1
            and layer.padding_mode == "zeros"
        ):
            layer.__class__ = PatchMatmulConv2d
    return module
