"""Self-supervised pretraining on an unlabeled image pool: encoder in, embeddings out.

Pure torch/torchvision/kornia. Methods and backbones are looked up by name::

    from ssl_pretrain import PretrainConfig, pretrain, embed
    result = pretrain(PretrainConfig(method="simclr", backbone="resnet18", epochs=100), images)
    features = embed(result.encoder, images)
"""

from __future__ import annotations

from . import data, evaluate
from .backbones import BACKBONES, Encoder
from .checkpoint import load_encoder, save_encoder
from .config import PretrainConfig
from .embed import embed
from .finetune import FinetuneResult, finetune
from .gradcam import gradcam
from .methods import METHODS
from .train import PretrainResult, pretrain

__all__ = [
    "BACKBONES",
    "METHODS",
    "Encoder",
    "FinetuneResult",
    "PretrainConfig",
    "PretrainResult",
    "data",
    "embed",
    "evaluate",
    "finetune",
    "gradcam",
    "load_encoder",
    "pretrain",
    "save_encoder",
]
