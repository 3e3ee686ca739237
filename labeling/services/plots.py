"""Dashboard plots rendered on the server as SVG with matplotlib's Agg backend.

Text (class names, strategy names) is written into the SVG by matplotlib, which escapes
it as XML; the views serve these with a Content-Security-Policy that forbids scripts.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

ACCENT = "#2f6fde"
MUTED = "#98a2b3"


def _svg(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()


def _empty(fig: Figure, ax, text: str) -> bytes:
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", color=MUTED, fontsize=11)
    return _svg(fig)


def learning_curve_svg(points: list[dict], simulated: dict[str, dict]) -> bytes:
    """Holdout accuracy against labels, with simulated strategies (random first) beside it."""
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.subplots()
    if not points and not simulated:
        return _empty(fig, ax, "No model evaluated yet")
    for name in sorted(simulated, key=lambda n: (n != "random", n)):
        curve = simulated[name]
        x = curve["n_labels"]
        mean = curve["mean"]
        std = curve.get("std") or [0.0] * len(mean)
        style = {"color": MUTED, "linestyle": "--"} if name == "random" else {"linestyle": ":"}
        ax.plot(x, mean, label=f"simulated {name}", **style)
        low = [m - s for m, s in zip(mean, std, strict=False)]
        high = [m + s for m, s in zip(mean, std, strict=False)]
        ax.fill_between(x, low, high, alpha=0.12, color=style.get("color"))
    if points:
        ax.plot(
            [p["n_labels"] for p in points],
            [p["accuracy"] for p in points],
            marker="o",
            color=ACCENT,
            label="this project (holdout)",
        )
    ax.set_xlabel("labels")
    ax.set_ylabel("holdout accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _svg(fig)


def distribution_svg(rows: list[tuple[str, int]]) -> bytes:
    """Labeled samples per class, as horizontal bars."""
    fig = Figure(figsize=(6.4, max(1.6, 0.28 * len(rows) + 0.8)))
    ax = fig.subplots()
    if not rows or not any(n for _, n in rows):
        return _empty(fig, ax, "No labels yet")
    names = [name for name, _ in rows]
    counts = [n for _, n in rows]
    ax.barh(range(len(rows)), counts, color=ACCENT)
    ax.set_yticks(range(len(rows)), labels=names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("labeled samples")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def confusion_svg(matrix: list[list[int]] | None, classes: list[str]) -> bytes:
    """The current model's confusion matrix on the holdout (rows true, columns predicted)."""
    size = max(3.2, min(9.0, 0.45 * len(classes) + 1.8))
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    if not matrix:
        return _empty(fig, ax, "No evaluated model yet")
    n = len(matrix)
    names = [classes[i] if i < len(classes) else str(i) for i in range(n)]
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), labels=names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), labels=names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 20:
        top = max((max(row) for row in matrix if row), default=0) or 1
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                colour = "white" if value > top / 2 else "black"
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return _svg(fig)
