"""The simulation lab on scikit-learn's digits (8x8 pixel features): every strategy vs random.

    python bench/digits_lab.py                      # 5 seeds, budget 200, every strategy
    python bench/digits_lab.py --seeds 2 --strategies random,margin,hybrid

Prints a Markdown table of holdout accuracy (mean +- std over seeds) at 20/50/100/200 labels,
the difference to random, and the labels needed to reach --target; writes simulation.json and
curves.png to --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from al_engine import STRATEGIES  # noqa: E402
from al_engine.simulate import plot, simulate  # noqa: E402

AT = (20, 50, 100, 200)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--strategies", default="all", help="comma-separated, or 'all'")
    ap.add_argument("--target", type=float, default=0.9)
    ap.add_argument("--out", default="var/digits-lab")
    args = ap.parse_args()
    names = sorted(STRATEGIES) if args.strategies == "all" else args.strategies.split(",")
    names = ["random", *[n for n in names if n != "random"]]
    x, y = load_digits(return_X_y=True)
    started = time.perf_counter()
    res = simulate(
        x.astype(np.float32), y, strategies=names, budget=args.budget, seeds=args.seeds,
        initial=10, batch_size=10, holdout=0.2, target=args.target,
        on_progress=lambda d, t, n, s: print(f"[{d}/{t}] {n} seed {s}", file=sys.stderr, flush=True),
    )  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulation.json").write_text(json.dumps(res.to_dict(), indent=1))
    plot(res, out / "curves.png")
    at = [n for n in AT if n in res.n_labels]
    print(f"digits (1797 x 64 pixels), holdout 20 %, linear head, {args.seeds} seeds, "
          f"initial 10, batches of 10; {time.perf_counter() - started:.0f} s")  # fmt: skip
    print("| strategy | " + " | ".join(f"acc @ {n}" for n in at)
          + f" | vs random @ {' / '.join(map(str, at))} | labels to {args.target:.0%} |")  # fmt: skip
    print("|---|" + "---:|" * len(at) + "---|---:|")
    base = {n: res.accuracy_at("random", n)[0] for n in at}
    for name in names:
        cells, deltas = [], []
        for n in at:
            mean, std = res.accuracy_at(name, n)
            cells.append(f"{mean:.3f} ± {std:.3f}")
            deltas.append(f"{mean - base[n]:+.3f}")
        hit = res.labels_to_target(name)
        print(f"| {name} | " + " | ".join(cells) + f" | {' / '.join(deltas)} | "
              f"{hit if hit is not None else '> ' + str(args.budget)} |")  # fmt: skip
    print(f"\nwrote {out / 'simulation.json'} and {out / 'curves.png'}")


if __name__ == "__main__":
    main()
