"""The pretraining configuration: a frozen, validated dataclass of names and numbers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

SCHEDULES = ("cosine", "constant")
GRAYSCALE = 0.5
# Fields added since checkpoints were first written, with the value the runs before used.
_BEFORE = {"grayscale": 0.2}


@dataclass(frozen=True)
class PretrainConfig:
    """What to train and how. Stored in every checkpoint, so it holds names, never objects.

    ``image_size=None`` trains at the pool's own size; otherwise the pool is resized once.
    ``view_size`` is the side of the augmented views of the two-view methods (SimCLR, BYOL;
    None: the image size). Smaller views cost fewer FLOPs per step and the encoder still embeds
    at the image size: random-resized-crop training below the test resolution loses little or
    gains (Touvron et al. 2019, https://arxiv.org/abs/1906.06423).
    ``lr`` is the base learning rate for a batch of 256 (scaled linearly by ``batch_size``).
    ``precision`` is ``"auto"`` (bf16 autocast where the device has native bf16, see
    :mod:`ssl_pretrain.precision`), ``"float32"`` or ``"bfloat16"``.
    ``grayscale`` is the probability that a view of the two-view methods is made grayscale.
    Two views of one image share its colours, which can be enough to match them without
    looking at anything else; where colour says little of the class (random colours,
    stains, lighting), the encoder then learns colour. SimCLR's recipe has 0.2; 0.5, the
    default, learned shapes drawn in random colours that 0.2 did not, and gave CIFAR-10's
    kNN more, not less (docs/ssl_pretrain.md).
    """

    method: str = "simclr"
    backbone: str = "resnet18"
    epochs: int = 100
    batch_size: int = 256
    lr: float | None = None
    schedule: str = "cosine"
    seed: int = 0
    weight_decay: float | None = None
    image_size: int | None = None
    compile: bool = False
    warmup_epochs: int = 0
    temperature: float = 0.5
    mask_ratio: float = 0.75
    view_size: int | None = None
    precision: str = "auto"
    grayscale: float = GRAYSCALE

    def __post_init__(self) -> None:
        from .backbones import BACKBONES
        from .methods import METHODS
        from .precision import check_precision

        if self.method not in METHODS:
            raise ValueError(
                f"unknown method {self.method!r}; valid methods: {', '.join(sorted(METHODS))}"
            )
        if self.backbone not in BACKBONES:
            raise ValueError(
                f"unknown backbone {self.backbone!r}; valid backbones: {', '.join(sorted(BACKBONES))}"
            )
        _int_at_least("epochs", self.epochs, 1)
        _int_at_least("batch_size", self.batch_size, 2)
        _int_at_least("seed", self.seed, 0)
        _int_at_least("warmup_epochs", self.warmup_epochs, 0)
        if self.image_size is not None:
            _int_at_least("image_size", self.image_size, 8)
        if self.lr is not None and not (isinstance(self.lr, int | float) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if self.weight_decay is not None and not (
            isinstance(self.weight_decay, int | float) and self.weight_decay >= 0
        ):
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}"
            )
        check_precision(self.precision)
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be a bool, got {self.compile!r}")
        if not (isinstance(self.temperature, int | float) and self.temperature > 0):
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")
        if not (isinstance(self.mask_ratio, int | float) and 0 < self.mask_ratio < 1):
            raise ValueError(f"mask_ratio must be in (0, 1), got {self.mask_ratio!r}")
        method_cls = METHODS[self.method]
        if self.view_size is not None:
            _int_at_least("view_size", self.view_size, 8)
            if not method_cls.two_views:
                _two_views_only("view_size", self.method)
            if self.backbone.startswith("vit"):
                raise ValueError("view_size needs a convolutional backbone (a ViT's grid is fixed)")
        if isinstance(self.grayscale, bool) or not (
            isinstance(self.grayscale, int | float) and 0 <= self.grayscale <= 1
        ):
            raise ValueError(f"grayscale must be a probability in [0, 1], got {self.grayscale!r}")
        if self.grayscale != GRAYSCALE and not method_cls.two_views:
            _two_views_only("grayscale", self.method)
        if method_cls.needs_vit and not self.backbone.startswith("vit"):
            raise ValueError(
                f"method {self.method!r} needs a ViT backbone (vit_tiny, vit_small), "
                f"got {self.backbone!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PretrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown PretrainConfig fields: {', '.join(unknown)}")
        return cls(**{**_BEFORE, **data})


def _two_views_only(setting: str, method: str) -> None:
    from .methods import METHODS

    two = ", ".join(sorted(name for name, m in METHODS.items() if m.two_views))
    raise ValueError(f"{setting} applies to the two-view methods ({two}), not {method!r}")


def _int_at_least(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
