"""Which CPU this is, as far as INT8 inference cares.

ONNX Runtime runs dynamic INT8 MatMuls as u8 x s8 integer GEMMs. How exact they are depends on the
instruction set (ONNX Runtime's quantization guide; OpenVINO's "saturation issue" note):
- ``x86-vnni`` (AVX-512 VNNI or AVX-VNNI): ``vpdpbusd`` accumulates u8 x s8 products in 32 bits.
- ``x86-avx2`` (AVX2, AVX-512 without VNNI, older x86): ``vpmaddubsw`` adds two u8 x s8 products
  into a saturating int16, so full-range int8 weights can overflow. 7-bit weights
  (``reduce_range``) or uint8 weights (u8 x u8, widened to 16 bits first) never do.
- ``arm64``: NEON / dot-product kernels widen before accumulating; no saturation.

A bundle's INT8 variants name the targets they were made for; the runtime picks the one made for
the CPU at hand. ``EDGEBIND_CPU_TARGET`` overrides detection (tests, or a device whose CPU is
misreported); it is honoured only with a known target name.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from edgebind.errors import EdgeBindError

TARGETS: tuple[str, ...] = ("x86-vnni", "x86-avx2", "arm64")
TARGET_ENV = "EDGEBIND_CPU_TARGET"
# Flags worth naming beside a performance figure (x86 /proc/cpuinfo and arm64 Features spellings).
_SHOWN = ("sse4_1", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni",
          "amx_int8", "asimd", "asimddp", "i8mm", "sve")
_VNNI = ("avx512_vnni", "avx_vnni")


class CpuTargetError(EdgeBindError, ValueError):
    """An unknown INT8 target name (in an override, an export option or a manifest)."""


def check_target(name: str, where: str = "target") -> str:
    if name not in TARGETS:
        raise CpuTargetError(f"{where}: unknown CPU target {name!r}; expected one of "
                             f"{', '.join(TARGETS)}")
    return name


@dataclass(frozen=True)
class CpuInfo:
    machine: str                     # platform.machine(): x86_64, aarch64, ...
    model: str                       # the CPU's model name, as the OS reports it
    flags: frozenset[str] = field(default_factory=frozenset)
    target: str | None = None        # the INT8 target this CPU is (None: no INT8 variant fits)
    overridden: bool = False         # target came from EDGEBIND_CPU_TARGET, not detection

    @property
    def isa(self) -> str:
        """The instruction set that decides INT8 behaviour, for people."""
        f = self.flags
        if self.machine in ("x86_64", "AMD64", "i686", "i386"):
            if "avx512_vnni" in f:
                return "AVX-512 VNNI"
            if "avx_vnni" in f:
                return "AVX-VNNI"
            if "avx512f" in f:
                return "AVX-512 (no VNNI)"
            if "avx2" in f:
                return "AVX2 (no VNNI)"
            return "SSE (no AVX2)"
        if self.machine in ("aarch64", "arm64"):
            return "ARMv8 NEON" + (" + dot product" if "asimddp" in f else "")
        return self.machine or "unknown"

    def to_dict(self) -> dict:
        return {"machine": self.machine, "model": self.model, "isa": self.isa,
                "target": self.target, "target_overridden": self.overridden,
                "flags": sorted(x for x in self.flags if x in _SHOWN),
                "cores": os.cpu_count()}

    def describe(self) -> str:
        """One line for logs, benchmarks and README figures."""
        t = f"INT8 target {self.target}" if self.target else "no INT8 target"
        return f"{self.model or self.machine} ({self.isa}; {t}{', overridden' if self.overridden else ''})"


def target_of(machine: str, flags: frozenset[str]) -> str | None:
    if machine in ("x86_64", "AMD64", "i686", "i386"):
        return "x86-vnni" if any(v in flags for v in _VNNI) else "x86-avx2"
    if machine in ("aarch64", "arm64"):
        return "arm64"
    return None


def _cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    model, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and not model:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = frozenset(value.split())
    return model, flags


def detect(env: Mapping[str, str] | None = None, cpuinfo: str | None = None,
           machine: str | None = None) -> CpuInfo:
    """This machine's CPU. ``cpuinfo``/``machine`` replace what the OS says (tests)."""
    env = os.environ if env is None else env
    machine = machine or platform.machine()
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:  # not Linux: the machine name alone still gives arm64 / x86
            cpuinfo = ""
    model, flags = _cpuinfo(cpuinfo)
    model = model or platform.processor()
    target = target_of(machine, flags)
    override = env.get(TARGET_ENV, "").strip()
    if override:
        return CpuInfo(machine, model, flags, check_target(override, TARGET_ENV), True)
    return CpuInfo(machine, model, flags, target)
