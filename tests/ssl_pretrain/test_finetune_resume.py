"""Fine-tuning checkpoints: written every epoch, resumed exactly, refused for another run."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ssl_pretrain import BACKBONES, finetune
from ssl_pretrain.checkpoint import load_checkpoint
from ssl_pretrain.finetune import CheckpointMismatchError
from ssl_pretrain.precision import resolve_precision

OPTIONS = {"n_classes": 2, "epochs": 3, "batch_size": 8, "lr": 3e-3, "seed": 4}
# What "auto" means on this CPU, and the other one.
AUTO = resolve_precision("auto", torch.device("cpu"))
OTHER = "float32" if AUTO == "bfloat16" else "bfloat16"


class Stop(Exception):
    pass


def _encoder(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return BACKBONES["cnn_small"](16)


def _stop_after(epochs: int):
    def on_progress(epoch: int, *_: float) -> None:
        if epoch == epochs:
            raise Stop

    return on_progress


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(v, sb[k]) for k, v in sa.items())


def _rows(history: list[dict]) -> list[tuple]:
    """History without the throughput column (a timing)."""
    return [(h["epoch"], h["loss"], h["accuracy"]) for h in history]


def _interrupted(encoder, toy, path, after: int = 1) -> None:
    with pytest.raises(Stop):
        finetune(encoder, *toy, **OPTIONS, checkpoint_path=path, on_progress=_stop_after(after))


def test_a_resumed_run_equals_an_uninterrupted_one(toy, tmp_path) -> None:
    encoder = _encoder()
    full = finetune(encoder, *toy, **OPTIONS, checkpoint_path=tmp_path / "full.pt")
    plain = finetune(encoder, *toy, **OPTIONS)
    assert _same_weights(full.encoder, plain.encoder) and _same_weights(full.head, plain.head)

    path = tmp_path / "run.pt"
    _interrupted(encoder, toy, path)
    assert load_checkpoint(path)["epoch"] == 1
    seen = []
    resumed = finetune(
        encoder,
        *toy,
        **OPTIONS,
        checkpoint_path=path,
        resume=True,
        on_progress=lambda *a: seen.append(a[:2]),
    )
    assert resumed.resumed_from_epoch == 1 and full.resumed_from_epoch == 0
    assert seen == [(2, 3), (3, 3)]
    assert _same_weights(resumed.encoder, full.encoder)
    assert _same_weights(resumed.head, full.head)
    assert _rows(resumed.history) == _rows(full.history)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert not resumed.encoder.training and not resumed.head.training


def test_resuming_twice_and_a_finished_checkpoint(toy, tmp_path) -> None:
    encoder = _encoder()
    full = finetune(encoder, *toy, **OPTIONS)
    path = tmp_path / "run.pt"
    _interrupted(encoder, toy, path, after=1)
    with pytest.raises(Stop):
        finetune(
            encoder, *toy, **OPTIONS, checkpoint_path=path, resume=True, on_progress=_stop_after(2)
        )
    assert load_checkpoint(path)["epoch"] == 2
    resumed = finetune(encoder, *toy, **OPTIONS, checkpoint_path=path, resume=True)
    assert resumed.resumed_from_epoch == 2
    assert _same_weights(resumed.encoder, full.encoder) and _same_weights(resumed.head, full.head)

    # A checkpoint of the last epoch: nothing left to train, the same result.
    seen = []
    again = finetune(
        encoder, *toy, **OPTIONS, checkpoint_path=path, resume=True, on_progress=seen.append
    )
    assert seen == [] and again.resumed_from_epoch == 3
    assert _same_weights(again.encoder, full.encoder) and _rows(again.history) == _rows(
        full.history
    )


def test_the_checkpoint_holds_the_whole_state_and_no_temporary_file(toy, tmp_path) -> None:
    path = tmp_path / "ckpt" / "finetune.pt"
    finetune(_encoder(), *toy, **OPTIONS, checkpoint_path=path)
    state = load_checkpoint(path)
    assert state["kind"] == "finetune" and state["epoch"] == 3
    assert {"encoder", "head", "optimizer", "scheduler", "rng", "history", "fingerprint"} <= set(
        state
    )
    assert state["settings"] == {
        "n_classes": 2,
        "n_images": 32,
        "image_size": 16,
        "epochs": 3,
        "batch_size": 8,
        "lr": 3e-3,
        "encoder_lr_scale": 0.1,
        "weight_decay": 0.01,
        "seed": 4,
        "augment": True,
        "precision": AUTO,
    }
    assert len(state["history"]) == 3
    assert [p.name for p in path.parent.iterdir()] == ["finetune.pt"]


def test_resume_without_a_checkpoint_file_starts_afresh(toy, tmp_path) -> None:
    encoder = _encoder()
    fresh = finetune(encoder, *toy, **OPTIONS, checkpoint_path=tmp_path / "new.pt", resume=True)
    plain = finetune(encoder, *toy, **OPTIONS)
    assert fresh.resumed_from_epoch == 0
    assert _same_weights(fresh.encoder, plain.encoder)
    assert (tmp_path / "new.pt").is_file()


def test_resume_needs_a_path(toy) -> None:
    with pytest.raises(ValueError, match="resume=True needs a checkpoint_path"):
        finetune(_encoder(), *toy, **OPTIONS, resume=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lr": 1e-3}, r"lr 0\.003 -> 0\.001"),
        ({"epochs": 4}, "epochs 3 -> 4"),
        ({"batch_size": 4}, "batch_size 8 -> 4"),
        ({"seed": 5}, "seed 4 -> 5"),
        ({"precision": OTHER}, f"precision '{AUTO}' -> '{OTHER}'"),
        ({"labels": "swapped"}, "the images, labels or starting encoder"),
        ({"images": "brighter"}, "the images, labels or starting encoder"),
        ({"encoder": 1}, "the images, labels or starting encoder"),
    ],
)
def test_a_checkpoint_of_another_run_is_refused(toy, tmp_path, change, message) -> None:
    path = tmp_path / "run.pt"
    _interrupted(_encoder(), toy, path)
    before = path.read_bytes()
    images, labels = toy
    options = dict(OPTIONS)
    encoder = _encoder(change.pop("encoder", 0))
    if change.pop("labels", None):
        labels = labels.copy()
        labels[[0, 1]] = labels[[1, 0]]
    if change.pop("images", None):
        images = images.copy()
        images[0] = np.minimum(images[0].astype(int) + 1, 255).astype(np.uint8)
    options.update(change)
    with pytest.raises(CheckpointMismatchError, match=message) as refused:
        finetune(encoder, images, labels, **options, checkpoint_path=path, resume=True)
    assert refused.value.epoch == 1 and refused.value.reason in str(refused.value)
    assert path.read_bytes() == before  # refused, untouched


def test_a_pretraining_checkpoint_is_not_taken_for_a_fine_tuning_one(toy, tmp_path) -> None:
    from ssl_pretrain import PretrainConfig, pretrain

    path = tmp_path / "pretrain.pt"
    config = PretrainConfig(method="rotation", backbone="cnn_small", epochs=1, batch_size=16)
    pretrain(config, toy[0], checkpoint_path=path)
    with pytest.raises(CheckpointMismatchError, match="not a fine-tuning one"):
        finetune(_encoder(), *toy, **OPTIONS, checkpoint_path=path, resume=True)


def test_resuming_leaves_the_callers_generators_alone(toy, tmp_path) -> None:
    encoder = _encoder()
    path = tmp_path / "run.pt"
    _interrupted(encoder, toy, path)
    torch.manual_seed(11)
    np.random.seed(11)
    random.seed(11)
    expected = (torch.rand(1), np.random.rand(), random.random())
    torch.manual_seed(11)
    np.random.seed(11)
    random.seed(11)
    finetune(encoder, *toy, **OPTIONS, checkpoint_path=path, resume=True)
    assert (torch.rand(1), np.random.rand(), random.random()) == expected
