"""Atomic, self-describing checkpoints: the training state and the bare encoder.

Every write goes to a temporary file in the target directory and is moved into place with
``os.replace``, so a crash never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .backbones import Encoder, build_backbone
from .config import PretrainConfig

FORMAT = 1


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def rng_state(*, host: bool = True) -> dict[str, Any]:
    """Torch's generators (CPU and every CUDA device), and with ``host`` numpy's and Python's
    global ones too (leave them out when they belong to the caller)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if host:
        state["numpy"] = np.random.get_state()
        state["python"] = random.getstate()
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what ``rng_state`` saved (only the generators it saved)."""
    torch.set_rng_state(state["torch"])
    if "numpy" in state:
        np.random.set_state(state["numpy"])
    if "python" in state:
        random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _plain_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """State dict without ``torch.compile`` wrappers' ``_orig_mod.`` prefixes, on the CPU."""
    return {k.replace("_orig_mod.", ""): v.detach().cpu() for k, v in module.state_dict().items()}


def save_encoder(
    encoder: nn.Module, path: str | os.PathLike[str], *, config: PretrainConfig
) -> None:
    """Write ``encoder`` with what is needed to rebuild it: backbone name, image size, config."""
    if not isinstance(encoder, Encoder):
        raise TypeError(f"expected an ssl_pretrain Encoder, got {type(encoder).__name__}")
    atomic_save(
        {
            "format": FORMAT,
            "kind": "encoder",
            "backbone": encoder.name,
            "image_size": encoder.image_size,
            "dim": encoder.dim,
            "config": config.to_dict(),
            "state_dict": _plain_state(encoder),
        },
        path,
    )


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError) as exc:
        # Another kind of file (embeddings.npy, text, a truncated copy): say so, no traceback.
        raise ValueError(
            f"{path} is not an ssl_pretrain checkpoint (format {FORMAT}): it cannot be read "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not an ssl_pretrain checkpoint (format {FORMAT})")
    return data


def load_encoder(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Encoder:
    """Rebuild the encoder from an encoder file or a training checkpoint; eval mode."""
    data = load_checkpoint(path)
    encoder = build_backbone(data["backbone"], data["image_size"])
    if data["kind"] == "encoder":
        state = data["state_dict"]
    elif data["kind"] == "training":
        prefix = "encoder."
        state = {
            k[len(prefix) :]: v for k, v in data["method_state"].items() if k.startswith(prefix)
        }
    else:
        raise ValueError(f"{path}: unknown checkpoint kind {data['kind']!r}")
    encoder.load_state_dict(state)
    return encoder.to(device).eval()
