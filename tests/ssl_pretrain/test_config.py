from __future__ import annotations

import pytest

from ssl_pretrain import BACKBONES, METHODS, PretrainConfig


def test_registries_hold_the_named_entries() -> None:
    assert set(METHODS) == {"simclr", "mae", "rotation", "byol"}
    assert set(BACKBONES) == {"resnet18", "resnet50", "vit_tiny", "vit_small", "cnn_small"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "swav"}, "valid methods: byol, mae, rotation, simclr"),
        ({"backbone": "vgg"}, "valid backbones:"),
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"batch_size": 1}, "batch_size must be"),
        ({"lr": -1.0}, "lr must be a positive number"),
        ({"schedule": "step"}, "schedule must be one of cosine, constant"),
        ({"image_size": 4}, "image_size must be"),
        ({"method": "mae", "backbone": "resnet18"}, "needs a ViT backbone"),
        ({"compile": "yes"}, "compile must be a bool"),
        ({"view_size": 4}, "view_size must be an integer >= 8"),
        ({"method": "rotation", "view_size": 16}, "two-view methods .* not 'rotation'"),
        (
            {"method": "byol", "backbone": "vit_tiny", "view_size": 16},
            "needs a convolutional backbone",
        ),
        ({"grayscale": 1.5}, r"grayscale must be a probability in \[0, 1\], got 1.5"),
        ({"grayscale": -0.1}, "grayscale must be a probability"),
        ({"grayscale": True}, "grayscale must be a probability"),
        ({"grayscale": "half"}, "grayscale must be a probability"),
        ({"method": "rotation", "grayscale": 0.9}, "two-view methods .* not 'rotation'"),
    ],
)
def test_bad_config_gets_a_clear_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PretrainConfig(**kwargs)


def test_config_is_frozen_and_round_trips() -> None:
    config = PretrainConfig(method="rotation", backbone="cnn_small", epochs=3)
    with pytest.raises(AttributeError):
        config.epochs = 4  # type: ignore[misc]
    assert PretrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown PretrainConfig fields: colour"):
        PretrainConfig.from_dict({**config.to_dict(), "colour": 1})


def test_a_checkpoint_written_before_grayscale_existed_keeps_what_it_trained_with() -> None:
    saved = PretrainConfig(method="simclr", backbone="cnn_small", epochs=3).to_dict()
    del saved["grayscale"]
    assert PretrainConfig.from_dict(saved).grayscale == 0.2
    assert PretrainConfig.from_dict({**saved, "grayscale": 0.7}).grayscale == 0.7
