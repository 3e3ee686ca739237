"""The simulation lab: the whole active-learning loop offline, with the labels as the oracle.

For each seed and strategy: split off a holdout, start from ``initial`` labels, then repeat
[train a head on the labeled rows -> accuracy on the holdout -> select ``batch_size`` rows ->
reveal their labels] until ``budget`` labels. Strategies are compared on the same splits.

Randomness protocol (so anyone can re-implement the loop and get the same label sets):

* ``rng = np.random.default_rng(seed)``; ``perm = rng.permutation(n)``; with ``h`` holdout rows,
  ``holdout = sort(perm[:h])`` and ``train = sort(perm[h:])`` (a given ``(X, y)`` holdout: all
  rows train). Rows below are positions in ``train``.
* Initial labels: a cold-start strategy picks them itself, every other strategy starts from the
  ``random`` pick; round ``r`` (0 = initial) calls ``select`` with
  ``random_state=np.random.default_rng([seed, r])``. ``random`` draws
  ``rng.choice(unlabeled_positions_ascending, size=b, replace=False)``.
* Heads: ``train_head(..., seed=seed)``; committees ``train_committee(..., seed=1000 * seed + r)``.

CLI::

    python -m al_engine.simulate --features X.npy --labels y.npy \\
        --strategies random,entropy,hybrid,typiclust --budget 1000 --out results/
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from al_engine.heads import KINDS, train_committee, train_head
from al_engine.registry import STRATEGIES, get_strategy

__all__ = ["SimulationResult", "main", "simulate"]

COMMITTEE_MEMBERS = 5


@dataclass
class SimulationResult:
    """Accuracy curves: ``curves[name]`` is ``[seeds, steps]`` at label counts ``n_labels``."""

    n_labels: list[int]
    curves: dict[str, np.ndarray]
    params: dict
    target: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def labels_to_target(self, name: str) -> int | None:
        if self.target is None:
            return None
        mean = self.curves[name].mean(axis=0)
        hit = np.flatnonzero(mean >= self.target)
        return int(self.n_labels[hit[0]]) if hit.size else None

    def accuracy_at(self, name: str, n: int) -> tuple[float, float] | None:
        """Mean and std of the accuracy at exactly ``n`` labels (None if not on the grid)."""
        if n not in self.n_labels:
            return None
        col = self.curves[name][:, self.n_labels.index(n)]
        return float(col.mean()), float(col.std())

    def to_dict(self) -> dict:
        return {
            "strategies": {
                name: {
                    "n_labels": list(self.n_labels),
                    "mean": [float(v) for v in acc.mean(axis=0)],
                    "std": [float(v) for v in acc.std(axis=0)],
                    "labels_to_target": self.labels_to_target(name),
                    "per_seed": acc.tolist(),
                    "seconds": round(self.seconds.get(name, 0.0), 3),
                }
                for name, acc in self.curves.items()
            },
            "params": self.params,
        }


def _grid(initial: int, budget: int, batch: int) -> list[int]:
    grid = list(range(initial, budget, batch))
    return [*grid, budget] if not grid or grid[-1] != budget else grid


def _check(features, labels, strategies, budget, seeds, initial, batch_size, holdout, classifier):
    x = np.asarray(features, dtype=np.float32)
    y_raw = np.asarray(labels)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be a 2-D array [n, d] with n >= 2, got shape {x.shape}")
    if y_raw.ndim != 1 or y_raw.shape[0] != x.shape[0]:
        raise ValueError(f"labels must be 1-D with {x.shape[0]} entries, got shape {y_raw.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features hold NaN or infinite values")
    if not strategies:
        raise ValueError("strategies must name at least one strategy")
    for name in strategies:
        if name not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {name!r}; valid strategies: {', '.join(sorted(STRATEGIES))}"
            )
    for key, val, low in (("budget", budget, 1), ("seeds", seeds, 1), ("initial", initial, 1),
                          ("batch_size", batch_size, 1)):  # fmt: skip
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < low:
            raise ValueError(f"{key} must be an int >= {low}, got {val!r}")
    if initial > budget:
        raise ValueError(f"initial ({initial}) must not exceed budget ({budget})")
    if classifier not in KINDS:
        raise ValueError(f"classifier must be one of {KINDS}, got {classifier!r}")
    if not isinstance(holdout, tuple) and not (isinstance(holdout, float) and 0.0 < holdout < 1.0):
        raise ValueError(f"holdout must be a fraction in (0, 1) or an (X, y) pair, got {holdout!r}")
    return x, y_raw


def simulate(
    features,
    labels,
    *,
    strategies: list[str],
    budget: int,
    seeds: int = 5,
    initial: int = 10,
    batch_size: int = 10,
    holdout: float | tuple = 0.2,
    classifier: str = "linear",
    target: float | None = None,
    on_progress: Callable[[int, int, str, int], None] | None = None,
    strategy_params: dict[str, dict] | None = None,
) -> SimulationResult:
    """Run every strategy for every seed; see the module docstring for the protocol.

    ``on_progress(done, total, strategy, seed)`` is called after each run and may raise to stop.
    """
    x, y_raw = _check(features, labels, strategies, budget, seeds, initial, batch_size, holdout,
                      classifier)  # fmt: skip
    classes = np.unique(y_raw)
    if isinstance(holdout, tuple):
        hx, hy_raw = np.asarray(holdout[0], dtype=np.float32), np.asarray(holdout[1])
        if hx.ndim != 2 or hx.shape[1] != x.shape[1] or hy_raw.shape != (hx.shape[0],):
            raise ValueError("holdout (X, y) must match the features' width and each other")
        classes = np.unique(np.concatenate([classes, np.unique(hy_raw)]))
        hy = np.searchsorted(classes, hy_raw)
    if classes.shape[0] < 2:
        raise ValueError("labels must hold at least two classes")
    y = np.searchsorted(classes, y_raw)
    n_classes = int(classes.shape[0])
    n_hold = 0 if isinstance(holdout, tuple) else max(1, int(round(holdout * x.shape[0])))
    if x.shape[0] - n_hold < budget:
        raise ValueError(
            f"budget ({budget}) exceeds the {x.shape[0] - n_hold} rows left for training"
        )
    grid = _grid(initial, budget, batch_size)
    params: dict[str, Any] = {"strategy_params": strategy_params or {}}
    curves = {name: np.zeros((seeds, len(grid))) for name in strategies}
    seconds = dict.fromkeys(strategies, 0.0)
    total, done = seeds * len(strategies), 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        if n_hold:
            perm = rng.permutation(x.shape[0])
            hold, train = np.sort(perm[:n_hold]), np.sort(perm[n_hold:])
            xt, yt, xh, yh = x[train], y[train], x[hold], y[hold]
        else:
            xt, yt, xh, yh = x, y, hx, hy
        for name in strategies:
            started = time.perf_counter()
            curves[name][seed] = _run(name, (strategy_params or {}).get(name, {}), xt, yt, xh, yh,
                                      grid, n_classes, seed, classifier)  # fmt: skip
            seconds[name] += time.perf_counter() - started
            done += 1
            if on_progress is not None:
                on_progress(done, total, name, seed)
    params.update(
        strategies=list(strategies), budget=budget, seeds=seeds, initial=initial,
        batch_size=batch_size, classifier=classifier, target=target, n_rows=int(x.shape[0]),
        n_features=int(x.shape[1]), n_classes=n_classes, holdout_rows=int(xh.shape[0]),
        holdout=holdout if not isinstance(holdout, tuple) else "given",
    )  # fmt: skip
    return SimulationResult(
        n_labels=grid, curves=curves, params=params, target=target, seconds=seconds
    )


def _run(name, params, xt, yt, xh, yh, grid, n_classes, seed, classifier) -> np.ndarray:
    strategy = get_strategy(name, **params)
    needs = strategy.required_inputs()
    labeled = np.zeros(xt.shape[0], dtype=bool)
    first = strategy if STRATEGIES[name].cold_start else get_strategy("random")
    pick = first.select(grid[0], embeddings=xt, labeled_mask=labeled,
                        random_state=np.random.default_rng([seed, 0]))  # fmt: skip
    labeled[pick.indices] = True
    acc = np.zeros(len(grid))
    for r, n_now in enumerate(grid):
        head = train_head(xt[labeled], yt[labeled], n_classes=n_classes, kind=classifier, seed=seed)
        acc[r] = float((head.predict(xh) == yh).mean())
        if r + 1 == len(grid):
            break
        inputs: dict = {}
        if "probs" in needs:
            inputs["probs"] = head.predict_proba(xt)
        if "committee_probs" in needs:
            committee = train_committee(xt[labeled], yt[labeled], n_classes=n_classes,
                                        members=COMMITTEE_MEMBERS, kind=classifier,
                                        seed=1000 * seed + r + 1)  # fmt: skip
            inputs["committee_probs"] = committee.predict_proba(xt)
        if "embeddings" in needs:
            inputs["embeddings"] = xt
        sel = strategy.select(grid[r + 1] - n_now, labeled_mask=labeled,
                              random_state=np.random.default_rng([seed, r + 1]), **inputs)  # fmt: skip
        labeled[sel.indices] = True
    return acc


def plot(result: SimulationResult, path: Path) -> None:
    """Learning curves (mean +- std over seeds) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    n = np.asarray(result.n_labels)
    for name, acc in result.curves.items():
        mean, std = acc.mean(axis=0), acc.std(axis=0)
        style: dict[str, Any] = {"color": "black", "linestyle": "--"} if name == "random" else {}
        ax.plot(n, mean, label=name, **style)
        ax.fill_between(n, mean - std, mean + std, alpha=0.15, color=style.get("color"))
    if result.target is not None:
        ax.axhline(result.target, color="grey", linewidth=0.8)
    ax.set_xlabel("labels")
    ax.set_ylabel("holdout accuracy")
    ax.set_title(f"Active learning, {result.params['seeds']} seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m al_engine.simulate", description=__doc__.split("\n")[0]
    )
    p.add_argument("--features", required=True, help=".npy file, float [n, d]")
    p.add_argument("--labels", required=True, help=".npy file, [n] class labels")
    p.add_argument("--strategies", required=True, help="comma-separated names, e.g. random,entropy")
    p.add_argument("--budget", type=int, required=True, help="labels at the end of each run")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--initial", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--holdout", type=float, default=0.2, help="fraction of rows held out")
    p.add_argument("--classifier", choices=KINDS, default="linear")
    p.add_argument("--target", type=float, default=None, help="accuracy for labels-to-target")
    p.add_argument("--out", default="simulation", help="folder for simulation.json and curves.png")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        features = np.load(args.features, allow_pickle=False)
        labels = np.load(args.labels, allow_pickle=False)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the inputs: {exc}", file=sys.stderr)
        return 2
    names = [s.strip() for s in args.strategies.split(",") if s.strip()]

    def progress(done: int, total: int, name: str, seed: int) -> None:
        print(f"[{done}/{total}] {name} seed {seed}", file=sys.stderr, flush=True)

    try:
        result = simulate(features, labels, strategies=names, budget=args.budget, seeds=args.seeds,
                          initial=args.initial, batch_size=args.batch_size, holdout=args.holdout,
                          classifier=args.classifier, target=args.target, on_progress=progress)  # fmt: skip
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulation.json").write_text(json.dumps(result.to_dict(), indent=1))
    plot(result, out / "curves.png")
    print(
        f"{'strategy':24s} "
        + " ".join(f"{n:>7d}" for n in result.n_labels[:: max(1, len(result.n_labels) // 8)])
    )
    for name, acc in result.curves.items():
        row = acc.mean(axis=0)[:: max(1, len(result.n_labels) // 8)]
        print(f"{name:24s} " + " ".join(f"{v:7.3f}" for v in row))
    print(f"wrote {out / 'simulation.json'} and {out / 'curves.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
