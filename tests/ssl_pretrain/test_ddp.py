from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ssl_pretrain import load_encoder
from ssl_pretrain.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # two interpreters start torch: ~10-40 s
def test_two_gloo_processes_train_one_synchronized_model(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--standalone",
        "tests/ssl_pretrain/ddp_worker.py",
        str(tmp_path),
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0 = torch.load(tmp_path / "rank0.pt")
    rank1 = torch.load(tmp_path / "rank1.pt")
    for key, value in rank0["state"].items():
        assert torch.equal(value, rank1["state"][key]), key  # gradients were all-reduced
    losses = [[h["loss"] for h in r["history"]] for r in (rank0, rank1)]
    assert losses[0] == losses[1]  # the loss is averaged over ranks
    checkpoint = load_checkpoint(tmp_path / "checkpoint.pt")
    assert checkpoint["world_size"] == 2 and checkpoint["epoch"] == 2
    encoder = load_encoder(tmp_path / "checkpoint.pt")
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, rank0["state"][key])
