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


def _gray(views: torch.Tensor) -> torch.Tensor:
    """Which views have equal channels (grayscale), one flag per view."""
    return (views.amax(dim=1) - views.amin(dim=1)).flatten(1).amax(dim=1) < 1e-5


def test_the_grayscale_probability_decides_how_many_views_lose_their_colour() -> None:
    torch.manual_seed(0)
    batch = torch.rand(400, 3, 8, 8)
    shares = {
        p: float(_gray(simclr_augment(8, grayscale=p)(batch)).float().mean())
        for p in (0.0, 0.2, 0.5, 1.0)
    }
    assert shares[0.0] == 0.0 and shares[1.0] == 1.0
    assert abs(shares[0.2] - 0.2) < 0.07 and abs(shares[0.5] - 0.5) < 0.08


def test_simclr_and_byol_take_the_grayscale_probability_from_the_config() -> None:
    from ssl_pretrain import PretrainConfig
    from ssl_pretrain.train import build_method

    for method in ("simclr", "byol"):
        config = PretrainConfig(method=method, backbone="cnn_small", grayscale=0.9)
        ops = build_method(config, 16).augment
        assert [op.p for op in ops if type(op).__name__ == "RandomGrayscale"] == [0.9]
