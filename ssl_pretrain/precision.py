"""Which arithmetic the forward passes run in: bf16 autocast where the hardware has it natively.

``"auto"`` picks bf16 autocast on CUDA and on CPUs with native bf16 instructions (AVX-512
BF16 or AMX: recent Xeon and EPYC), where oneDNN's bf16 convolutions measured twice the speed
of float32 ones for a ResNet-18 training step; elsewhere float32 (emulated bf16 on AVX2 CPUs is
far slower than float32). ``"float32"`` and ``"bfloat16"`` force one. Autocast keeps the
weights and the optimizer in float32; the methods compute their losses in float32.
"""

from __future__ import annotations

import functools

import torch

PRECISIONS = ("auto", "float32", "bfloat16")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 dot-product instructions (AVX-512 BF16 or AMX tiles);
    asked once per process."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"float32"`` or ``"bfloat16"``: what ``precision`` means on ``device``."""
    check_precision(precision)
    if precision != "auto":
        return precision
    if device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16()):
        return "bfloat16"
    return "float32"


def autocast(precision: str, device: torch.device) -> torch.autocast:
    """The autocast context for a forward pass (a no-op one for float32)."""
    enabled = resolve_precision(precision, device) == "bfloat16"
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)
