"""CPU training keeps freed activation buffers in the heap, and gives them back afterwards."""

from __future__ import annotations

import ctypes
import os
import platform

import pytest
import torch

from ssl_pretrain import PretrainConfig, pretrain
from ssl_pretrain import heap as heap_module
from ssl_pretrain.heap import reuse_freed_memory

from .conftest import blobs

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the heap settings are glibc's"
)
BIG = 64 << 20  # above glibc's largest mmap threshold (32 MiB)


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def mallinfo() -> MallInfo2:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    return libc.mallinfo2()


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_inside_a_large_buffer_comes_from_the_heap_and_stays_after_free() -> None:
    with reuse_freed_memory():
        before = mallinfo()
        buffer = torch.ones(BIG, dtype=torch.uint8)
        assert mallinfo().hblkhd == before.hblkhd  # not a fresh mmap
        del buffer
        assert mallinfo().fordblks >= BIG  # kept free for the next step
        kept = resident_bytes()
    # Afterwards the kept memory went back to the kernel and large buffers are mmapped again.
    assert resident_bytes() <= kept - BIG * 9 // 10
    outside = mallinfo().hblkhd
    buffer = torch.ones(BIG, dtype=torch.uint8)
    assert mallinfo().hblkhd >= outside + BIG
    del buffer


def test_nested_contexts_restore_only_at_the_outermost() -> None:
    with reuse_freed_memory():
        with reuse_freed_memory():
            pass
        base = mallinfo().hblkhd
        buffer = torch.ones(BIG, dtype=torch.uint8)
        assert mallinfo().hblkhd == base  # still from the heap
        del buffer
    assert heap_module._depth == 0


def test_pretraining_on_a_cpu_runs_inside_it_and_leaves_it(monkeypatch) -> None:
    depths: list[int] = []
    images, _ = blobs(16)
    config = PretrainConfig(method="rotation", backbone="cnn_small", epochs=2, batch_size=8)
    pretrain(config, images, on_progress=lambda *_: depths.append(heap_module._depth))
    assert depths == [1, 1] and heap_module._depth == 0
