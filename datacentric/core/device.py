"""Device choice: `auto` picks CUDA when present, else the CPU."""

from __future__ import annotations

import os

import torch

from datacentric.core.errors import DatacentricError


def resolve(name: str = "auto") -> torch.device:
    """`auto`: CUDA when present (under torchrun, each rank its own GPU: cuda:LOCAL_RANK), else the CPU."""
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device(f"cuda:{os.environ['LOCAL_RANK']}" if "LOCAL_RANK" in os.environ else "cuda")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DatacentricError(f"device '{name}' requested but CUDA is not available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise DatacentricError(f"unknown device '{name}': use auto, cpu or cuda[:N]") from None


def native_bf16(device: torch.device, cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Does `device` compute bf16 in hardware? CUDA: the GPU says so. CPU: the AVX512-BF16 or AMX
    instructions (Linux flags), without which bf16 autocast is emulated and slower than fp32."""
    if device.type == "cuda":  # emulated bf16 (pre-Ampere GPUs) is slower than fp32, as on the CPU
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type != "cpu":
        return False
    try:
        with open(cpuinfo) as lines:
            flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def inference_bf16(device: torch.device) -> bool:
    """Do inference and attacks run in bf16 here? Only on a GPU that computes bf16 natively; fp32 elsewhere,
    so a CPU's attacks and accuracies do not depend on whether it has bf16 instructions (training may use
    them: `TrainConfig.bf16`)."""
    return device.type == "cuda" and native_bf16(device)


def gpu_autocast(device: torch.device) -> torch.autocast:
    """bf16 autocast where `inference_bf16` says so, else a no-op context."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=inference_bf16(device))


def arithmetic_line(device: torch.device) -> str:
    """One line saying which arithmetic training and inference use on `device`, and why."""
    if native_bf16(device):
        return f"{device}: training in bf16 autocast (native bf16 here); inference and attacks in " + \
            ("bf16" if inference_bf16(device) else "fp32")
    reason = "no AVX512-BF16 or AMX: bf16 would be emulated, slower than fp32" if device.type == "cpu" else \
        "this GPU has no native bf16"
    return f"{device}: training and inference in fp32 ({reason})"
