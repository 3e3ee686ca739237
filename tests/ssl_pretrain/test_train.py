from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_pretrain import PretrainConfig, embed, pretrain
from ssl_pretrain.augment import to_float
from ssl_pretrain.checkpoint import load_checkpoint
from ssl_pretrain.train import build_method, make_optimizer

CONFIG = PretrainConfig(method="simclr", backbone="cnn_small", epochs=3, batch_size=8, seed=3)


class Stop(Exception):
    pass


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_history_and_progress_per_epoch(toy: tuple[np.ndarray, np.ndarray]) -> None:
    seen = []
    result = pretrain(CONFIG, toy[0], on_progress=lambda *a: seen.append(a))
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert [s[0] for s in seen] == [1, 2, 3] and all(s[1] == 3 for s in seen)
    assert all(np.isfinite(h["loss"]) and h["img_per_s"] > 0 for h in result.history)
    assert not result.encoder.training


def test_same_seed_same_weights_and_global_rng_untouched(
    toy: tuple[np.ndarray, np.ndarray],
) -> None:
    torch.manual_seed(99)
    expected_next = torch.rand(1)
    torch.manual_seed(99)
    a = _state(pretrain(CONFIG, toy[0]).encoder)
    assert torch.equal(torch.rand(1), expected_next)  # the caller's generator is left alone
    b = _state(pretrain(CONFIG, toy[0]).encoder)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_matches_an_uninterrupted_run(
    toy: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    full = pretrain(CONFIG, toy[0], checkpoint_path=tmp_path / "full.pt")

    def stop_after_two(epoch: int, *_: object) -> None:
        if epoch == 2:
            raise Stop

    ckpt = tmp_path / "part.pt"
    with pytest.raises(Stop):
        pretrain(CONFIG, toy[0], checkpoint_path=ckpt, on_progress=stop_after_two)
    assert load_checkpoint(ckpt)["epoch"] == 2
    resumed = pretrain(CONFIG, toy[0], checkpoint_path=ckpt, resume=True)
    a, b = _state(full.encoder), _state(resumed.encoder)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in full.history]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.pt", "part.pt"]  # no temp files


def test_resume_refuses_a_different_config(
    toy: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    ckpt = tmp_path / "c.pt"
    pretrain(
        PretrainConfig(method="rotation", backbone="cnn_small", epochs=1, batch_size=8),
        toy[0],
        checkpoint_path=ckpt,
    )
    with pytest.raises(ValueError, match="different config"):
        pretrain(CONFIG, toy[0], checkpoint_path=ckpt, resume=True)


def test_image_size_resizes_the_pool(toy: tuple[np.ndarray, np.ndarray]) -> None:
    config = PretrainConfig(method="mae", backbone="vit_tiny", epochs=1, batch_size=8, image_size=8)
    result = pretrain(config, toy[0][:8])
    assert result.encoder.image_size == 8


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_view_size_trains_on_smaller_views_and_embeds_at_the_image_size(
    method: str, toy: tuple[np.ndarray, np.ndarray]
) -> None:
    config = PretrainConfig(method=method, backbone="resnet18", epochs=1, batch_size=8, view_size=8)
    seen: list[tuple[int, ...]] = []
    model = build_method(config, 16)
    model.encoder.register_forward_pre_hook(lambda _m, args: seen.append(tuple(args[0].shape)))
    model.loss(to_float(torch.from_numpy(toy[0][:8])))
    assert seen and all(shape[-2:] == (8, 8) for shape in seen)
    result = pretrain(config, toy[0][:16])
    assert result.encoder.image_size == 16  # the pool's size: embeddings are taken there
    assert np.isfinite(result.history[-1]["loss"])
    assert embed(result.encoder, toy[0][:4]).shape == (4, 512)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((0, 16, 16, 3), np.uint8), "the image pool is empty"),
        (np.zeros((4, 16, 16), np.uint8), "grayscale images must be converted to RGB"),
        (np.zeros((4, 16, 16, 3), np.float32), "images must be uint8"),
        (np.zeros((4, 4, 4, 3), np.uint8), "smaller than the minimum 8 px"),
        (np.zeros((1, 16, 16, 3), np.uint8), "needs at least 2 per process"),
        (np.zeros((4, 16, 24, 3), np.uint8), "non-square pools need image_size"),
        ([[1, 2]], "numpy array or torch tensor"),
    ],
)
def test_bad_pools_get_clear_errors(images: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        pretrain(CONFIG, images)


def test_vit_pool_smaller_than_patch_multiple_is_refused() -> None:
    config = PretrainConfig(method="mae", backbone="vit_tiny", epochs=1, batch_size=4)
    with pytest.raises(ValueError, match="not a multiple of the ViT patch size"):
        pretrain(config, np.zeros((4, 10, 10, 3), np.uint8))


def test_resume_needs_a_path(toy: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="resume=True needs a checkpoint_path"):
        pretrain(CONFIG, toy[0], resume=True)


def test_time_budget_stops_mid_epoch(toy: tuple[np.ndarray, np.ndarray]) -> None:
    config = PretrainConfig(method="simclr", backbone="cnn_small", epochs=50, batch_size=8)
    result = pretrain(config, toy[0], time_budget_s=1e-6)
    assert len(result.history) == 1 and result.history[0]["steps"] == 1
    with pytest.raises(ValueError, match="cannot be resumed exactly"):
        pretrain(config, toy[0], time_budget_s=10.0, checkpoint_path="x.pt", resume=True)
    with pytest.raises(ValueError, match="time_budget_s must be > 0"):
        pretrain(config, toy[0], time_budget_s=0)


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_cpu_fast_path_takes_the_plain_paths_step(
    toy: tuple[np.ndarray, np.ndarray], method: str
) -> None:
    """channels_last + the fused optimizer (the CPU defaults) take the step that a contiguous
    model with torch's per-tensor SGD takes, up to float32 rounding. Rounding alone moves this
    toy step by up to ~0.3% (a ReLU input within rounding of 0 flips), against either path run
    in float64; a wrong layout, lr or weight decay would move it by far more than the 1% allowed.
    """
    config = PretrainConfig(method=method, backbone="resnet18", epochs=1, batch_size=8, seed=0)
    torch.manual_seed(0)
    fast = build_method(config, 16).to(memory_format=torch.channels_last)
    fast_opt = make_optimizer(fast, config)
    torch.manual_seed(0)
    plain = build_method(config, 16)
    params = dict(plain.named_parameters())
    names = {id(p): n for n, p in fast.named_parameters()}
    plain_opt = torch.optim.SGD(
        [
            dict(g, params=[params[names[id(p)]] for p in g["params"]], fused=None, foreach=False)
            for g in fast_opt.param_groups
        ]
    )
    assert all(g["fused"] for g in fast_opt.param_groups)
    assert fast.encoder.trunk.net.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    x = to_float(torch.from_numpy(toy[0][:8]))
    start = _state(plain)
    losses = []
    for model, opt in ((fast, fast_opt), (plain, plain_opt)):
        torch.manual_seed(1)  # the same augmentations on both sides
        loss = model(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.after_step(0.5)
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    a, b = fast.state_dict(), plain.state_dict()
    floats = [k for k in start if start[k].is_floating_point()]
    step_a = torch.cat([(a[k] - start[k]).flatten() for k in floats])
    step_b = torch.cat([(b[k] - start[k]).flatten() for k in floats])
    assert step_b.norm() > 0
    assert (step_a - step_b).norm() <= 1e-2 * step_b.norm()
    assert all(torch.equal(a[k], b[k]) for k in start if k not in floats)
