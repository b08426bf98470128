"""CPU detection: which INT8 target a CPU is, from what the OS reports, and the override."""
from __future__ import annotations

import pytest

from edgebind.runtime.cpu import CpuTargetError, TARGETS, detect

EPYC_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B12
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2
"""
SPR_VNNI = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: sse4_1 avx avx2 fma avx512f avx512bw avx512_vnni amx_int8
"""
ALDER_LAKE = "model name\t: 12th Gen Intel(R) Core(TM) i7-1265U\nflags\t: avx avx2 fma avx_vnni\n"
SKYLAKE_X = "model name\t: Intel(R) Xeon(R) Gold 6148\nflags\t: avx2 avx512f avx512bw\n"
OLD_X86 = "model name\t: Intel(R) Atom(TM) E3845\nflags\t: sse sse2 ssse3 sse4_1 sse4_2\n"
JETSON = """processor\t: 0
BogoMIPS\t: 62.50
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm asimddp
CPU implementer\t: 0x41
"""


@pytest.mark.parametrize("cpuinfo,machine,target,isa", [
    (EPYC_AVX2, "x86_64", "x86-avx2", "AVX2 (no VNNI)"),
    (SPR_VNNI, "x86_64", "x86-vnni", "AVX-512 VNNI"),
    (ALDER_LAKE, "x86_64", "x86-vnni", "AVX-VNNI"),
    (SKYLAKE_X, "x86_64", "x86-avx2", "AVX-512 (no VNNI)"),   # vpmaddubsw saturates here too
    (OLD_X86, "x86_64", "x86-avx2", "SSE (no AVX2)"),          # the 7-bit/uint8 form is safe
    (JETSON, "aarch64", "arm64", "ARMv8 NEON + dot product"),
    ("", "riscv64", None, "riscv64"),
])
def test_target_from_the_cpu(cpuinfo, machine, target, isa):
    info = detect(env={}, cpuinfo=cpuinfo, machine=machine)
    assert info.target == target and info.isa == isa and not info.overridden
    assert info.to_dict()["target"] == target
    assert isa in info.describe()


def test_model_name_and_flags_are_reported():
    info = detect(env={}, cpuinfo=SPR_VNNI, machine="x86_64")
    assert info.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert {"avx2", "avx512_vnni", "amx_int8"} <= set(info.to_dict()["flags"])


@pytest.mark.parametrize("target", TARGETS)
def test_override_injects_the_instruction_set(target):
    info = detect(env={"EDGEBIND_CPU_TARGET": target}, cpuinfo=EPYC_AVX2, machine="x86_64")
    assert info.target == target and info.overridden
    assert "overridden" in info.describe()


def test_unknown_override_is_refused():
    with pytest.raises(CpuTargetError, match="unknown CPU target 'x86-avx512'.*x86-vnni"):
        detect(env={"EDGEBIND_CPU_TARGET": "x86-avx512"}, cpuinfo=EPYC_AVX2, machine="x86_64")


def test_this_machine_has_a_target():
    info = detect()
    assert info.machine and info.isa
    assert info.target in TARGETS or info.target is None
