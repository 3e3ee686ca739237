"""Pretraining methods by name; each module holds one method's views, head and loss."""

from __future__ import annotations

from .base import Method
from .byol import BYOL
from .mae import MAE
from .rotation import Rotation
from .simclr import SimCLR

METHODS: dict[str, type[Method]] = {
    "simclr": SimCLR,
    "mae": MAE,
    "rotation": Rotation,
    "byol": BYOL,
}

__all__ = ["METHODS", "Method", "SimCLR", "MAE", "Rotation", "BYOL"]
