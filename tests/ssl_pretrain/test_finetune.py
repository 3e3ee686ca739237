from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_pretrain import BACKBONES, FinetuneResult, embed, finetune


class Stop(Exception):
    pass


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _encoder(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return BACKBONES["cnn_small"](16)


def test_loss_falls_and_the_classes_are_learned(toy: tuple[np.ndarray, np.ndarray]) -> None:
    images, y = toy
    seen = []
    result = finetune(
        _encoder(),
        images,
        y,
        n_classes=2,
        epochs=6,
        batch_size=8,
        lr=3e-3,
        seed=1,
        on_progress=lambda *a: seen.append(a),
    )
    assert isinstance(result, FinetuneResult)
    losses = [h["loss"] for h in result.history]
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5, 6]
    assert [s[:2] for s in seen] == [(e, 6) for e in range(1, 7)]
    assert np.mean(losses[-2:]) < 0.5 * losses[0]
    assert not result.encoder.training and not result.head.training
    with torch.no_grad():
        logits = result.head(torch.from_numpy(embed(result.encoder, images)))
    assert (logits.argmax(1).numpy() == y).mean() >= 0.9


def test_the_encoder_is_trained_and_the_given_one_left_alone(
    toy: tuple[np.ndarray, np.ndarray],
) -> None:
    encoder = _encoder()
    before = _state(encoder)
    result = finetune(encoder, *toy, n_classes=2, epochs=1, batch_size=8)
    assert all(torch.equal(v, encoder.state_dict()[k]) for k, v in before.items())
    after = result.encoder.state_dict()
    conv = "trunk.features.0.0.weight"
    assert not torch.equal(before[conv], after[conv])
    assert result.encoder is not encoder
    assert result.head.weight.shape == (2, 128)


def test_a_frozen_encoder_keeps_its_weights(toy: tuple[np.ndarray, np.ndarray]) -> None:
    encoder = _encoder()
    result = finetune(encoder, *toy, n_classes=2, epochs=1, batch_size=8, encoder_lr_scale=0.0)
    conv = "trunk.features.0.0.weight"
    assert torch.equal(encoder.state_dict()[conv], result.encoder.state_dict()[conv])


def test_same_seed_same_weights_and_global_rng_untouched(
    toy: tuple[np.ndarray, np.ndarray],
) -> None:
    encoder = _encoder()
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    a = finetune(encoder, *toy, n_classes=2, epochs=2, batch_size=8, seed=5)
    assert torch.equal(torch.rand(1), expected)
    b = finetune(encoder, *toy, n_classes=2, epochs=2, batch_size=8, seed=5)
    c = finetune(encoder, *toy, n_classes=2, epochs=2, batch_size=8, seed=6)
    for x, other in ((a, b), (a, c)):
        same = all(
            torch.equal(v, other.encoder.state_dict()[k]) for k, v in x.encoder.state_dict().items()
        )
        same = same and torch.equal(x.head.weight, other.head.weight)
        assert same is (other is b)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]


def test_resizes_to_the_encoder_size_and_takes_three_classes() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (7, 24, 24, 3), dtype=np.uint8)
    labels = np.array([0, 1, 2, 0, 1, 2, 0])  # 7 = 3 + 3 + 1: the lone last one joins a batch
    result = finetune(_encoder(), images, labels, n_classes=3, epochs=1, batch_size=3)
    assert result.head.out_features == 3
    assert embed(result.encoder, images).shape == (7, 128)


def test_progress_may_stop_the_run(toy: tuple[np.ndarray, np.ndarray]) -> None:
    def stop(epoch: int, *_: float) -> None:
        raise Stop

    with pytest.raises(Stop):
        finetune(_encoder(), *toy, n_classes=2, epochs=3, batch_size=8, on_progress=stop)


@pytest.mark.parametrize(
    ("images", "labels", "kwargs", "message"),
    [
        (np.zeros((0, 16, 16, 3), np.uint8), np.zeros(0, int), {}, "labeled set is empty"),
        (None, np.array([0, 1, 5, 1]), {}, "label 5 is outside the classes 0..1"),
        (None, np.array([0, -1, 1, 1]), {}, "label -1 is outside"),
        (None, np.array([0, 1, 1]), {}, "got 4 images but 3 labels"),
        (None, np.array([1, 1, 1, 1]), {}, "fine-tuning needs two classes"),
        (None, np.array([0.0, 1.0, 0.0, 1.0]), {}, "integer class ids"),
        (None, np.array([0, 1, 0, 1]), {"n_classes": 1}, "n_classes must be an integer >= 2"),
        (None, np.array([0, 1, 0, 1]), {"epochs": 0}, "epochs must be an integer >= 1"),
        (None, np.array([0, 1, 0, 1]), {"batch_size": 0}, "batch_size must be"),
        (None, np.array([0, 1, 0, 1]), {"lr": -1.0}, "lr must be a positive number"),
        (None, np.array([0, 1, 0, 1]), {"encoder_lr_scale": -1}, "encoder_lr_scale"),
        (np.zeros((4, 16, 16), np.uint8), np.array([0, 1, 0, 1]), {}, r"\[n, H, W, 3\]"),
    ],
)
def test_bad_input_is_refused_clearly(images, labels, kwargs, message) -> None:
    if images is None:
        images = np.zeros((4, 16, 16, 3), np.uint8)
    options = {"n_classes": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        finetune(_encoder(), images, labels, **options)


def test_cuda_asked_for_without_cuda_is_refused(
    toy: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        finetune(_encoder(), *toy, n_classes=2, device="cuda")
