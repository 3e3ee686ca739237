"""Classifier heads on embeddings: a linear (multinomial logistic regression) or MLP head in torch.

Training is full-batch L-BFGS on the mean cross-entropy plus ``||W||^2 / (2 C n)`` (the penalty
of scikit-learn's ``LogisticRegression(C=1)``), on standardized inputs; the standardization is
part of the module, so ``Head.module()`` maps raw embeddings to logits (what Grad-CAM needs).
Deterministic for a given ``seed``; the global torch random state is left untouched.
A committee is a set of heads trained on bootstrap samples (bagging, Breiman 1996).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

from al_engine.threads import threads_for

__all__ = ["Committee", "Head", "load", "save", "train_committee", "train_head"]

KINDS = ("linear", "mlp")
FORMAT = "quarry.al_engine.heads/1"


class _Standardize(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _build(kind: str, d: int, n_classes: int, hidden: int) -> nn.Sequential:
    norm = _Standardize(torch.zeros(d), torch.ones(d))
    if kind == "linear":
        return nn.Sequential(norm, nn.Linear(d, n_classes))
    return nn.Sequential(norm, nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


def _check_xy(X, y, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(X, dtype=np.float32)
    t = np.asarray(y)
    if x.ndim != 2:
        raise ValueError(f"X must be 2-dimensional [n, d], got shape {x.shape}")
    if t.ndim != 1 or t.shape[0] != x.shape[0]:
        raise ValueError(f"y must be 1-dimensional with {x.shape[0]} labels, got shape {t.shape}")
    if x.shape[0] == 0:
        raise ValueError("cannot train a head on zero labeled rows")
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"y must hold integer class ids, got dtype {t.dtype}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    if t.min() < 0 or t.max() >= n_classes:
        raise ValueError(f"y holds a class outside 0..{n_classes - 1}")
    if not np.isfinite(x).all():
        raise ValueError("X holds NaN or infinite values")
    return x, t.astype(np.int64)


class Head:
    """A trained classifier head; ``module()`` maps embeddings to logits."""

    def __init__(self, net: nn.Sequential, *, kind: str, n_classes: int, hidden: int) -> None:
        self.net_ = net.eval()
        self.norm_ = cast(_Standardize, net[0])
        self.kind = kind
        self.n_classes = n_classes
        self.hidden = hidden

    def module(self) -> nn.Module:
        return self.net_

    @torch.no_grad()
    def predict_proba(self, X, batch_size: int = 65536) -> np.ndarray:
        x = torch.as_tensor(np.asarray(X, dtype=np.float32))
        if x.ndim != 2 or x.shape[1] != self.norm_.mean.shape[0]:
            raise ValueError(f"X must be [n, {self.norm_.mean.shape[0]}], got {tuple(x.shape)}")
        dev = self.norm_.mean.device
        with threads_for(x.numel() * max(self.n_classes, self.hidden if self.kind == "mlp" else 1)):
            out = [
                torch.softmax(self.net_(x[i : i + batch_size].to(dev)), dim=1).cpu()
                for i in range(0, x.shape[0], batch_size)
            ]
        if not out:
            return np.zeros((0, self.n_classes), dtype=np.float32)
        return torch.cat(out).numpy().astype(np.float32, copy=False)

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def _meta(self) -> dict:
        return {"kind": self.kind, "n_classes": self.n_classes, "hidden": self.hidden,
                "d": int(self.norm_.mean.shape[0])}  # fmt: skip


def train_head(
    X,
    y,
    *,
    n_classes: int,
    kind: str = "linear",
    seed: int = 0,
    epochs: int = 100,
    device: str = "cpu",
    C: float = 1.0,
    hidden: int = 256,
) -> Head:
    """Train a head on embeddings ``X`` float32 [n, d] and labels ``y`` int [n].

    ``epochs`` bounds the L-BFGS iterations (full batch); ``C`` is the inverse L2 strength.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not C > 0:
        raise ValueError(f"C must be > 0, got {C!r}")
    x_np, y_np = _check_xy(X, y, n_classes)
    dev = torch.device(device)
    x = torch.as_tensor(x_np, device=dev)
    t = torch.as_tensor(y_np, device=dev)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _build(kind, x.shape[1], int(n_classes), hidden)
        if kind == "linear":
            linear = cast(nn.Linear, net[1])
            nn.init.zeros_(linear.weight)
            nn.init.zeros_(linear.bias)
    net = net.to(dev)
    std = x.std(dim=0, unbiased=False) if x.shape[0] > 1 else torch.ones(x.shape[1], device=dev)
    norm = cast(_Standardize, net[0])
    norm.mean.copy_(x.mean(dim=0))
    norm.std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))
    weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
    penalty = 1.0 / (2.0 * C * x.shape[0])
    opt = torch.optim.LBFGS(
        net.parameters(), lr=1.0, max_iter=epochs, history_size=20,
        tolerance_grad=1e-6, tolerance_change=1e-9, line_search_fn="strong_wolfe",
    )  # fmt: skip

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), t)
        loss = loss + penalty * sum((w * w).sum() for w in weights)
        loss.backward()
        return loss

    net.train()
    with threads_for(x.numel() * max(int(n_classes), hidden if kind == "mlp" else 1)):
        opt.step(closure)
    return Head(net, kind=kind, n_classes=int(n_classes), hidden=hidden)


class Committee:
    """Heads trained on bootstrap samples of the labeled rows."""

    def __init__(self, heads: list[Head]) -> None:
        if not heads:
            raise ValueError("a committee needs at least one head")
        self.heads = heads

    def __len__(self) -> int:
        return len(self.heads)

    def predict_proba(self, X) -> np.ndarray:
        """Per-member probabilities ``[m, n, c]``."""
        return np.stack([h.predict_proba(X) for h in self.heads])

    def mean_proba(self, X) -> np.ndarray:
        """The consensus ``[n, c]``."""
        return self.predict_proba(X).mean(axis=0)


def train_committee(
    X, y, *, n_classes: int, members: int = 5, kind: str = "linear", seed: int = 0, **kwargs
) -> Committee:
    """``members`` heads, each trained on a bootstrap sample (seeded by ``seed``)."""
    if isinstance(members, bool) or not isinstance(members, int) or members < 1:
        raise ValueError(f"members must be a positive int, got {members!r}")
    x, t = _check_xy(X, y, n_classes)
    rng = np.random.default_rng(seed)
    heads = []
    for i in range(members):
        rows = rng.integers(0, x.shape[0], size=x.shape[0])
        heads.append(
            train_head(x[rows], t[rows], n_classes=n_classes, kind=kind, seed=seed + i, **kwargs)
        )
    return Committee(heads)


def _payload(obj: Head | Committee) -> dict:
    heads = obj.heads if isinstance(obj, Committee) else [obj]
    return {
        "format": FORMAT,
        "type": "committee" if isinstance(obj, Committee) else "head",
        "meta": heads[0]._meta(),
        "states": [{k: v.detach().cpu() for k, v in h.net_.state_dict().items()} for h in heads],
    }


def save(obj: Head | Committee, path) -> None:
    """Write a head or committee to ``path`` atomically (temporary file + rename)."""
    if not isinstance(obj, Head | Committee):
        raise ValueError(f"can only save a Head or a Committee, got {type(obj).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(_payload(obj), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path, device: str = "cpu") -> Head | Committee:
    """Read what :func:`save` wrote."""
    data = torch.load(Path(path), map_location=device, weights_only=True)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a Quarry head checkpoint")
    meta = data["meta"]
    heads = []
    for state in data["states"]:
        net = _build(meta["kind"], meta["d"], meta["n_classes"], meta["hidden"])
        net.load_state_dict(state)
        heads.append(
            Head(
                net.to(device),
                kind=meta["kind"],
                n_classes=meta["n_classes"],
                hidden=meta["hidden"],
            )
        )
    return Committee(heads) if data["type"] == "committee" else heads[0]
