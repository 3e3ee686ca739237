from __future__ import annotations

import torch

from ssl_pretrain.augment import crop_flip_augment, simclr_augment, to_float


def test_simclr_views_draw_independent_parameters_per_sample() -> None:
    torch.manual_seed(0)
    image = torch.rand(1, 3, 16, 16)
    batch = image.expand(8, -1, -1, -1).contiguous()
    views = simclr_augment(16)(batch)
    assert views.shape == (8, 3, 16, 16)
    for i in range(8):
        for j in range(i + 1, 8):
            assert not torch.allclose(views[i], views[j]), (i, j)


def test_crop_parameters_differ_between_samples() -> None:
    torch.manual_seed(0)
    aug = crop_flip_augment(16)
    aug(torch.rand(6, 3, 16, 16))
    params = aug[0]._params  # kornia keeps the last drawn parameters
    boxes = params["src"]
    assert len({tuple(b.flatten().tolist()) for b in boxes}) == 6


def test_blur_only_for_large_images() -> None:
    names_small = [type(m).__name__ for m in simclr_augment(32)]
    names_large = [type(m).__name__ for m in simclr_augment(96)]
    assert "RandomGaussianBlur" not in names_small
    assert "RandomGaussianBlur" in names_large
    assert "ColorJitter" in names_small


def test_to_float_is_channels_first_unit_range() -> None:
    x = to_float(torch.full((2, 4, 5, 3), 255, dtype=torch.uint8))
    assert x.shape == (2, 3, 4, 5) and x.dtype == torch.float32 and float(x.max()) == 1.0
