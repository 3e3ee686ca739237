"""Quarry's query strategies against modAL, in the same process on the same inputs.

    python bench/query_engine.py            # the table of issue 3 (needs ~4 GB RAM, a few minutes)
    python bench/query_engine.py --quick    # small inputs, seconds

Prints, per case: modAL's time, Quarry's time, the speed-up, and the peak resident memory each
added above its starting point (sampled every 2 ms in a separate first run). Times are the best
of ``--repeat`` runs, or of as many as fit in half a second for fast cases (modAL's slowest
cases run once). "same" says whether both picked the same rows (up to ties).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modAL.batch import uncertainty_batch_sampling  # noqa: E402
from modAL.density import information_density  # noqa: E402
from modAL.disagreement import (  # noqa: E402
    consensus_entropy_sampling,
    max_disagreement_sampling,
    vote_entropy_sampling,
)
from modAL.models import ActiveLearner, Committee  # noqa: E402
from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402

from al_engine import get_strategy  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


class Fixed(ClassifierMixin, BaseEstimator):
    """An estimator whose predict_proba on the pool is a given array (no copy, no work)."""

    def __init__(self, proba=None):
        self.proba = proba

    def fit(self, X, y):
        self.classes_ = np.arange(self.proba.shape[1])
        return self

    def predict_proba(self, X):
        return self.proba

    def predict(self, X):
        return np.argmax(self.proba, axis=1)


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


class Peak:
    """Peak RSS above the starting point while the block runs."""

    def __enter__(self):
        self.base = self.peak = rss()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def _poll(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, rss())
        self.mb = (self.peak - self.base) / 2**20


#: fast cases run until this much time is spent (at most MAX_RUNS runs), as timeit's autorange
MIN_TOTAL_S = 0.5
MAX_RUNS = 30


def measure(fn, repeat: int):
    """Peak memory from one sampled run; time = best of at least ``repeat`` runs without the
    sampler, more for fast cases: on this VM an idle CPU comes back slowly (a 15 ms pass
    takes up to 2x longer right after the other core idled), so a few runs are a warm-up."""
    with Peak() as p:
        out = fn()
    best, spent, runs = float("inf"), 0.0, 0
    while runs < repeat or (spent < MIN_TOTAL_S and runs < MAX_RUNS):
        t0 = time.perf_counter()
        fn()
        took = time.perf_counter() - t0
        best, spent, runs = min(best, took), spent + took, runs + 1
    return best, p.mb, out


def same_up_to_ties(ours, theirs, score) -> str:
    if theirs is None:
        return "-"
    a, b = np.sort(score[np.asarray(ours)]), np.sort(score[np.asarray(theirs)])
    return "yes" if np.allclose(a, b, rtol=1e-9, atol=1e-12) else "no"


ROWS: list[tuple] = []
LOAD_START = ", ".join(f"{v:.1f}" for v in os.getloadavg())


def row(case, target, modal_fn, quarry_fn, *, repeat, modal_repeat=None, check=None):
    print(f"... {case}", file=sys.stderr, flush=True)
    if modal_fn is not None:
        mt, mm, mout = measure(modal_fn, modal_repeat or repeat)
    else:
        mt, mm, mout = None, None, None
    qt, qm, qout = measure(quarry_fn, repeat)
    same = check(qout, mout) if check and mout is not None else "-"
    ROWS.append((case, mt, qt, target, mm, qm, same))


def bench_uncertainty(n, c, repeat):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(c), size=n)
    learner = Fixed(probs).fit(None, None)
    X = np.empty((n, 1))
    mask = np.zeros(n, bool)
    for ours, theirs, score in (
        ("entropy", entropy_sampling, lambda p: -(p * np.log(p)).sum(1)),
        ("margin", margin_sampling, None),
        ("least_confident", uncertainty_sampling, lambda p: 1 - p.max(1)),
    ):
        strat = get_strategy(ours)
        ref = score(probs) if score else 1 - (np.sort(probs, 1)[:, -1] - np.sort(probs, 1)[:, -2])
        row(f"{ours}, {n:,} x {c} probs, top 100", ">= 3x",
            lambda theirs=theirs: theirs(learner, X, n_instances=100)[0],
            lambda strat=strat: strat.select(100, probs=probs, labeled_mask=mask).indices,
            repeat=repeat, check=lambda a, b, ref=ref: same_up_to_ties(a, b, ref))  # fmt: skip


def bench_committee(m, n, c, repeat, modal_repeat):
    rng = np.random.default_rng(1)
    cp = rng.dirichlet(np.ones(c), size=(m, n)).astype(np.float64)
    committee = Committee([ActiveLearner(estimator=Fixed(cp[i]).fit(None, None)) for i in range(m)])
    X = np.empty((n, 1))
    mask = np.zeros(n, bool)
    for ours, theirs, target in (
        ("vote_entropy", vote_entropy_sampling, ">= 20x"),
        ("max_disagreement", max_disagreement_sampling, ">= 10x"),
        ("consensus_entropy", consensus_entropy_sampling, ">= 5x"),
    ):
        strat = get_strategy(ours)
        holder = {}

        def quarry(strat=strat, holder=holder):
            sel = strat.select(100, committee_probs=cp, labeled_mask=mask)
            holder["scores"] = sel
            return sel

        def check(ours_sel, theirs_idx, ours_name=ours):
            # compare the scores modAL's picks get under our measure with ours
            from al_engine.committee import COMMITTEE

            full = COMMITTEE[ours_name](torch.as_tensor(cp)).numpy()
            return same_up_to_ties(ours_sel.indices, theirs_idx, full)

        row(f"{ours}, {m} x {n:,} x {c}", target,
            lambda theirs=theirs: theirs(committee, X, n_instances=100)[0], quarry,
            repeat=repeat, modal_repeat=modal_repeat, check=check)  # fmt: skip


def bench_ranked(n, d, picks, repeat, modal_repeat):
    rng = np.random.default_rng(2)
    x_lab = rng.standard_normal((100, d))
    x_pool = rng.standard_normal((n, d))
    probs = rng.dirichlet(np.ones(10), size=n)
    learner = ActiveLearner(estimator=Fixed(probs), X_training=x_lab, y_training=np.zeros(100, int))
    emb = np.vstack([x_lab, x_pool])
    all_probs = np.vstack([rng.dirichlet(np.ones(10), size=100), probs])
    mask = np.r_[np.ones(100, bool), np.zeros(n, bool)]
    modal = lambda: uncertainty_batch_sampling(learner, x_pool, n_instances=picks)[0]  # noqa: E731
    for name, kwargs in (("ranked_batch", {}), ("hybrid", {}), ("coreset", {})):
        strat = get_strategy(name, **kwargs)
        check, target = None, ">= 50x"
        if name == "ranked_batch":  # modAL's algorithm re-implemented: same picks, no target
            check = lambda a, b: "yes" if np.array_equal(a - 100, b) else "no"  # noqa: E731
            target = "(modAL's picks)"
        row(f"ranked batch {n:,} x {d}, {picks} picks vs {name}", target, modal,
            lambda strat=strat: strat.select(picks, probs=all_probs, embeddings=emb, labeled_mask=mask).indices,
            repeat=repeat, modal_repeat=modal_repeat, check=check)  # fmt: skip


def bench_density(n, d, big, repeat, modal_repeat):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, d))
    probs = rng.dirichlet(np.ones(10), size=n)
    mask = np.zeros(n, bool)
    for metric in ("cosine", "euclidean"):
        strat = get_strategy("density_weighted", metric=metric)
        target = ">= 20x" if metric == "cosine" else "(same O(n^2) work)"
        row(f"information density {n:,} x {d} vs density_weighted ({metric})", target,
            lambda: information_density(x, "euclidean"),
            lambda strat=strat: strat.select(100, probs=probs, embeddings=x, labeled_mask=mask).indices,
            repeat=repeat, modal_repeat=modal_repeat)  # fmt: skip
    xb = rng.standard_normal((big, d)).astype(np.float32)
    pb = rng.dirichlet(np.ones(10), size=big).astype(np.float32)
    mb = np.zeros(big, bool)
    strat = get_strategy("density_weighted")
    row(
        f"density_weighted (cosine), {big:,} x {d}",
        "< 30 s",
        None,
        lambda: strat.select(100, probs=pb, embeddings=xb, labeled_mask=mb).indices,
        repeat=1,
    )


def bench_coreset(n, d, picks, labeled):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, d)).astype(np.float32)
    mask = np.zeros(n, bool)
    mask[rng.choice(n, labeled, replace=False)] = True
    strat = get_strategy("coreset")
    row(
        f"coreset, {picks:,} picks from {n:,} x {d} ({labeled} labeled)",
        "< 5 s",
        None,
        lambda: strat.select(picks, embeddings=x, labeled_mask=mask).indices,
        repeat=1,
    )


def fmt(v, unit=""):
    return "-" if v is None else f"{v:.3f}{unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small inputs (a smoke run)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    groups = ("uncertainty", "committee", "ranked", "density", "coreset")
    ap.add_argument(
        "--only", default=",".join(groups), help=f"comma-separated groups of {', '.join(groups)}"
    )
    args = ap.parse_args()
    only = {g.strip() for g in args.only.split(",") if g.strip()}
    if not only <= set(groups):
        ap.error(f"--only takes {', '.join(groups)}; got {', '.join(sorted(only - set(groups)))}")
    r = args.repeat
    runs = {
        "uncertainty": lambda big: bench_uncertainty(1_000_000 if big else 100_000, 10, r),
        "committee": lambda big: bench_committee(5, 1_000_000 if big else 20_000, 10, r, 1),
        "ranked": lambda big: (
            bench_ranked(20_000, 128, 100, r, 1) if big else bench_ranked(2_000, 128, 20, r, 1)
        ),
        "density": lambda big: (
            bench_density(10_000, 128, 1_000_000, r, 1)
            if big
            else bench_density(2_000, 128, 100_000, r, 1)
        ),
        "coreset": lambda big: (
            bench_coreset(100_000, 512, 1_000, 100) if big else bench_coreset(10_000, 512, 100, 100)
        ),
    }
    for group in groups:
        if group in only:
            runs[group](not args.quick)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"device {'cuda' if torch.cuda.is_available() else 'cpu'}; load average at the end "
          f"{load} (at the start {LOAD_START})")  # fmt: skip
    print(
        "| case | modAL s | Quarry s | speed-up | target | modAL peak MB | Quarry peak MB | same picks |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---|")
    for case, mt, qt, target, mm, qm, same in ROWS:
        ratio = f"{mt / qt:.1f}x" if mt is not None else "-"
        print(f"| {case} | {fmt(mt)} | {fmt(qt)} | {ratio} | {target} | "
              f"{'-' if mm is None else f'{mm:.0f}'} | {qm:.0f} | {same} |")  # fmt: skip


if __name__ == "__main__":
    main()
