"""Browser tests: Debian's chromium driven by npm's playwright-core against a live server.

``make browser-deps`` (scripts/browser_deps.sh) installs both when it can. Without them
these tests skip with the reason, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("QUARRY_CHROMIUM", "/usr/bin/chromium")


def _browser_problem() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return f"chromium is missing at {CHROMIUM} (run `make browser-deps` as root)"
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        return "npm playwright-core is missing (run `make browser-deps`)"
    return None


@pytest.fixture(scope="session")
def browser_ready():
    problem = _browser_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"browser test cannot run under CI=true: {problem}")
        pytest.skip(problem)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def run_scenario(browser_ready, live_server):
    """Run tests/browser/<name>.js with JSON params; return the JSON it prints."""

    def _run(name: str, **params) -> dict:
        params = {"base": live_server.url, "screenshots": str(browser_ready), **params}
        env = {**os.environ, "QUARRY_CHROMIUM": CHROMIUM}
        proc = subprocess.run(
            ["node", str(ROOT / "tests" / "browser" / f"{name}.js"), json.dumps(params)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise AssertionError(
                f"browser scenario {name} failed (exit {proc.returncode}):\n"
                f"{proc.stderr[-4000:]}\n{proc.stdout[-2000:]}"
            )
        return json.loads(lines[-1][len("RESULT ") :])

    return _run


def digit_png(index: int) -> bytes:
    """One of scikit-learn's bundled 8x8 handwritten digits as a 32x32 greyscale PNG."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = (digits.images[index % len(digits.images)] * (255 / 16)).astype(np.uint8)
    image = Image.fromarray(255 - pixels, mode="L").resize((32, 32), Image.NEAREST)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def digit_target(index: int) -> int:
    from sklearn.datasets import load_digits

    return int(load_digits().target[index % 1797])


def heatmap_png(seed: int) -> ContentFile:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:32, 0:32]
    cy, cx = rng.integers(8, 24, size=2)
    blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 60.0)
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = (blob * 120).astype(np.uint8)
    rgba[..., 3] = (blob * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())
