import torch

from datacentric.core import device as devices
from datacentric.core.device import gpu_autocast, native_bf16

CPU = torch.device("cpu")


def test_cpu_bf16_needs_the_avx512_bf16_or_amx_flag(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\n")
    assert not native_bf16(CPU, str(cpuinfo))
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16\n")
    assert native_bf16(CPU, str(cpuinfo))
    cpuinfo.write_text("flags\t\t: fpu amx_bf16 amx_tile\n")
    assert native_bf16(CPU, str(cpuinfo))
    assert not native_bf16(CPU, str(tmp_path / "missing"))


def test_inference_autocast_is_off_on_a_cpu_even_with_bf16_instructions():
    # a CPU's attacks and accuracies must not depend on its instruction set
    with gpu_autocast(CPU):
        assert not torch.is_autocast_enabled("cpu")
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32


def test_the_run_says_which_arithmetic_it_chose(monkeypatch):
    monkeypatch.setattr(devices, "native_bf16", lambda device, cpuinfo="": False)
    assert "fp32" in devices.arithmetic_line(CPU) and "emulated" in devices.arithmetic_line(CPU)
    monkeypatch.setattr(devices, "native_bf16", lambda device, cpuinfo="": True)
    assert devices.arithmetic_line(CPU).startswith("cpu: training in bf16") and "attacks in fp32" in \
        devices.arithmetic_line(CPU)
