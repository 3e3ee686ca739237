"""Latency figures the benches print: percentiles, a one-line summary, the slow seconds."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def latency_line(name: str, values: list[float]) -> str:
    return (
        f"{name:>6}: n={len(values):,}  p50={percentile(values, 50):.1f} ms  "
        f"p95={percentile(values, 95):.1f} ms  p99={percentile(values, 99):.1f} ms  "
        f"max={max(values, default=float('nan')):.1f} ms  "
        f"mean={statistics.fmean(values) if values else float('nan'):.1f} ms"
    )


def slow_seconds(
    calls: Iterable[tuple[float, float]],
    measured_from: float,
    slow_ms: float = 50,
    busy: Callable[[float, float], tuple[float, float] | None] | None = None,
) -> str:
    """How the slow calls fall over the measured window, second by second: a tail made
    of a few bad seconds (the machine stalled, a backlog from the warm-up) reads
    differently from one spread over the whole run. ``busy(start, end)``, where given,
    says how busy the CPUs were in each of the worst seconds, and what share of their time
    the hypervisor took (steal)."""
    by_second: dict[int, list[float]] = defaultdict(list)
    for began, seconds in calls:
        if began >= measured_from:
            by_second[int(began - measured_from)].append(seconds * 1000)
    slow = sorted(s for s, values in by_second.items() if percentile(values, 99) > slow_ms)
    where = ""
    if slow:
        where = " (at " + ", ".join(f"+{s}" for s in slow[:12])
        where += " ... s)" if len(slow) > 12 else " s)"
    worst = sorted(by_second, key=lambda s: -percentile(by_second[s], 99))[:3]
    worst_text = ", ".join(
        f"+{s} s: {percentile(by_second[s], 99):.0f} ms" + _busy_text(busy, measured_from + s)
        for s in worst
    )
    return (
        f"seconds whose calls had p99 > {slow_ms:.0f} ms: {len(slow)} of {len(by_second)}"
        f"{where}; the worst: {worst_text}"
    )


def _busy_text(busy, start: float) -> str:
    shares = busy(start, start + 1) if busy else None
    if shares is None:
        return ""
    return f" (CPUs {100 * shares[0]:.0f} % busy, {100 * shares[1]:.0f} % stolen)"
