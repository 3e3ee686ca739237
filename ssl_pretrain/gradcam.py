"""Grad-CAM heat maps: where in the image the encoder + head found evidence for a class.

Selvaraju et al. 2017, https://arxiv.org/abs/1610.02391: the last conv layer's activations,
weighted by the spatial mean of the class score's gradient, ReLU, upsampled to the image.
ViTs have no last conv layer; for them the map is gradient x input on the patch embeddings
(the output of the patch-projection convolution), summed over channels, ReLU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .augment import to_float
from .backbones import ViTTrunk
from .data import as_uint8_tensor, resize_pool


def _target_layer(encoder: nn.Module) -> tuple[nn.Module, bool]:
    """The layer to hook and whether to use Grad-CAM (True) or gradient x input (False)."""
    layer = getattr(encoder, "cam_layer", None)
    if layer is not None:
        return layer, True
    trunk = getattr(encoder, "trunk", None)
    if isinstance(trunk, ViTTrunk):
        return trunk.vit.conv_proj, False
    raise ValueError(f"{type(encoder).__name__} has neither a last conv layer nor ViT patches")


def gradcam(
    encoder: nn.Module,
    head: nn.Module,
    images: Any,
    classes: Any,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 64,
) -> np.ndarray:
    """Heat maps ``float32 [n, H, W]`` in [0, 1] for ``classes[i]`` on ``images[i]``."""
    pool = as_uint8_tensor(images)
    classes_t = torch.as_tensor(np.asarray(classes), dtype=torch.long).reshape(-1)
    if len(classes_t) != len(pool):
        raise ValueError(f"got {len(pool)} images but {len(classes_t)} classes")
    device = torch.device(device)
    layer, use_cam = _target_layer(encoder)
    height, width = pool.shape[1], pool.shape[2]
    size = getattr(encoder, "image_size", None) or height
    modes = (encoder.training, head.training)
    encoder.eval()
    head.eval()
    captured: list[torch.Tensor] = []
    hook = layer.register_forward_hook(lambda _m, _i, out: captured.append(out))
    maps = np.empty((len(pool), height, width), dtype=np.float32)
    try:
        for start in range(0, len(pool), batch_size):
            captured.clear()
            x = to_float(resize_pool(pool[start : start + batch_size], size).to(device))
            target = classes_t[start : start + batch_size].to(device)
            with torch.enable_grad():
                logits = head(encoder(x))
                if target.min() < 0 or target.max() >= logits.shape[1]:
                    raise ValueError(f"classes must be in [0, {logits.shape[1] - 1}]")
                act = captured[-1]
                score = logits.gather(1, target[:, None]).sum()
                (grad,) = torch.autograd.grad(score, act)
            if use_cam:
                cam = (grad.mean(dim=(2, 3), keepdim=True) * act).sum(1, keepdim=True)
            else:
                cam = (grad * act).sum(1, keepdim=True)
            cam = F.relu(cam.detach().float())
            cam = F.interpolate(cam, size=(height, width), mode="bilinear", align_corners=False)
            cam = cam[:, 0]
            peak = cam.flatten(1).max(1).values.clamp_min(1e-12)[:, None, None]
            maps[start : start + len(cam)] = (cam / peak).clamp_(0, 1).cpu().numpy()
    finally:
        hook.remove()
        encoder.train(modes[0])
        head.train(modes[1])
    return maps
