import torch

from datacentric.device import native_bf16

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
