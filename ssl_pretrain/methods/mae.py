"""MAE: mask 75% of the patches, encode the visible ones, reconstruct the masked ones.

He et al. 2021, "Masked Autoencoders Are Scalable Vision Learners",
https://arxiv.org/abs/2111.06377. ViT encoder on the visible patches only, a light transformer
decoder, mean-squared error on per-patch normalized pixels of the masked patches only.
"""

from __future__ import annotations

import torch
from torch import nn

from ..augment import crop_flip_augment
from ..backbones import Encoder, ViTTrunk
from ..config import PretrainConfig
from .base import Method


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """``[n, C, H, W]`` -> ``[n, L, patch*patch*C]`` in the ViT's row-major patch order."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, (h // patch) * (w // patch), patch * patch * c)


def random_masking(n: int, length: int, ratio: float, device: torch.device) -> torch.Tensor:
    """Per-sample random permutation of patch indices; the first ``keep`` are visible."""
    return torch.rand(n, length, device=device).argsort(dim=1)


class MAE(Method):
    name = "mae"
    description = "masked autoencoder on ViT patches, mask ratio 0.75 (He et al. 2021)"
    needs_vit = True
    default_lr = 1.5e-4
    default_weight_decay = 0.05
    optimizer = "adamw"

    def __init__(self, encoder: Encoder, config: PretrainConfig) -> None:
        super().__init__(encoder, config)
        trunk = encoder.trunk
        if not isinstance(trunk, ViTTrunk):
            raise ValueError("MAE needs a ViT backbone (vit_tiny, vit_small)")
        dim, dec_dim = encoder.dim, 128
        self.patch = trunk.patch
        self.n_patches = trunk.n_patches
        self.decoder_embed = nn.Linear(dim, dec_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dec_dim))
        self.decoder_pos = nn.Parameter(torch.randn(1, self.n_patches, dec_dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            dec_dim,
            4,
            4 * dec_dim,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.decoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.decoder_norm = nn.LayerNorm(dec_dim)
        self.decoder_pred = nn.Linear(dec_dim, self.patch * self.patch * 3)
        nn.init.normal_(self.mask_token, std=0.02)
        self.augment = crop_flip_augment(encoder.image_size)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        x = self.augment(x)
        trunk = self.encoder.trunk
        assert isinstance(trunk, ViTTrunk)
        tokens = trunk.patch_tokens(self.encoder.normalize(x))
        n, length, dim = tokens.shape
        keep = max(1, int(round(length * (1 - self.config.mask_ratio))))
        order = random_masking(n, length, self.config.mask_ratio, x.device)
        restore = order.argsort(dim=1)
        visible = torch.gather(tokens, 1, order[:, :keep, None].expand(-1, -1, dim))
        latent = self.decoder_embed(trunk.encode_tokens(visible))
        masks = self.mask_token.to(latent.dtype).expand(n, length - keep, -1)
        full = torch.cat([latent, masks], dim=1)
        full = torch.gather(full, 1, restore[:, :, None].expand(-1, -1, full.shape[2]))
        pred = self.decoder_pred(self.decoder_norm(self.decoder(full + self.decoder_pos)))
        target = patchify(x, self.patch).float()
        mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
        target = (target - mean) / (var + 1e-6).sqrt()
        masked = (restore >= keep).float()
        per_patch = (pred.float() - target).pow(2).mean(-1)
        return (per_patch * masked).sum() / masked.sum()
