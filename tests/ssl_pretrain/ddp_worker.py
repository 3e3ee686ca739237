"""Run by test_ddp.py under torchrun: pretrain on gloo, save each rank's encoder weights."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from ssl_pretrain import PretrainConfig, pretrain
from tests.ssl_pretrain.conftest import blobs

if __name__ == "__main__":
    out = Path(sys.argv[1])
    dist.init_process_group("gloo")
    torch.set_num_threads(1)
    images, _ = blobs(32, 16)
    config = PretrainConfig(method="simclr", backbone="cnn_small", epochs=2, batch_size=16)
    result = pretrain(config, images, checkpoint_path=out / "checkpoint.pt")
    torch.save(
        {"state": result.encoder.state_dict(), "history": result.history},
        out / f"rank{dist.get_rank()}.pt",
    )
    dist.destroy_process_group()
