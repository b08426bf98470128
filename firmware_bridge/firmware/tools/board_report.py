"""Size and stack report of the RP2040 board image (run by ``make board``; CI prints it).

usage: board_report.py BUILD_DIR [--picotool PATH] [--log LOG]...

Prints flash and RAM use, the worst-case stack (main loop plus the deepest interrupt, from the
``-fstack-usage``/``-fcallgraph-info`` output) against the SDK's reserved stack, the compiler
and CMake warnings in the logs and what ``picotool info`` reads from the .uf2; writes the same as
``BUILD_DIR/board_report.json``. Exits 1 when the stack is not at least ``HEADROOM`` bytes below
the SDK's stack size, the analysis is incomplete, or the build or its configuration warned.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from callgraph import Analysis, load  # noqa: E402

FLASH_BYTES = 2 * 1024 * 1024  # the Pico's W25Q16
RAM_BYTES = 264 * 1024
HEADROOM = 1024  # required margin below the SDK's stack (PICO_STACK_SIZE)
ASSUMED_LEAF = 64  # asm/ROM/libgcc helpers (memcpy, float, divider): a few pushed registers
# Hardware-stacked exception frame (8 words) plus the SDK's shared-handler trampoline push.
EXCEPTION_FRAME = 32 + 8

# Function pointers, by calling source file -> what they can reach (the compiler cannot see it).
INDIRECT: dict[str, str | None] = {
    r"^fb_device\.c$": r"board_(hal|thermal)\.c:hal_",  # the fb_hal_t filled by board_init
    r"^icm42688\.c$": r"board_hal\.c:(spi_write_reg|spi_read_regs|bus_delay_us|imu_lock|imu_unlock)$",
    r"^mlx90640_xfer\.c$": r"board_thermal\.c:i2c_",  # mlx_i2c_ops_t
    r"^gpio\.c$": r"board_hal\.c:imu_drdy_isr$",  # the one GPIO interrupt callback
    r"^usbd(_control)?\.c$": r"cdc_device\.c:|^cdcd_|^tud_cdc",  # the one class driver (CDC)
    r"^timer\.c$": r"time\.c:alarm_pool_irq_handler$",
    r"^time\.c$": r"time\.c:sleep_until_callback$",  # the only alarms: sleep_us() at boot
    r"^printf\.c$": r"printf\.c:(_vsnprintf|_out_\w+)$",  # printf's output callbacks
    r"^stdio\.c$": r"(?!)",  # no stdio driver is linked (USB and UART stdio are off)
    r"^bootrom\.c$": None,  # rom_func_lookup() results: boot ROM routines
}
THREAD_ROOT = "main"
# Interrupts this firmware enables (all at the SDK's default priority, so they do not nest).
ISR_ROOTS = ("dcd_rp2040.c:dcd_rp2040_irq", "gpio.c:gpio_default_irq_handler",
             "timer.c:hardware_alarm_irq_handler")


def sections(elf: Path) -> dict[str, tuple[int, int]]:
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    res = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            res[parts[0]] = (int(parts[1]), int(parts[2]))
    return res


def sizes(elf: Path) -> dict[str, int]:
    sec = sections(elf)
    in_flash = sum(s for s, a in sec.values() if 0x10000000 <= a < 0x11000000)
    in_ram = {n: s for n, (s, a) in sec.items() if 0x20000000 <= a < 0x20042000}
    static_ram = sum(s for n, s in in_ram.items() if n not in (".heap", ".stack_dummy"))
    return {
        "flash_bytes": in_flash + in_ram.get(".data", 0),  # .data's initial values live in flash
        "ram_static_bytes": static_ram,
        "ram_heap_bytes": in_ram.get(".heap", 0),
        "stack_bytes": in_ram.get(".stack_dummy", 0),  # PICO_STACK_SIZE, core 0
    }


def stack(build: Path) -> dict:
    an = Analysis(load(build), INDIRECT, ASSUMED_LEAF)
    main = an.find(THREAD_ROOT)
    if main is None:
        raise SystemExit(f"no call graph for {THREAD_ROOT} under {build} (built without -fcallgraph-info?)")
    thread = an.worst(main)
    isrs = {}
    for name in ISR_ROOTS:
        title = an.find(name)
        if title is not None:
            isrs[name] = an.worst(title)
    worst_isr = max(isrs.values(), key=lambda p: p.total)
    return {
        "thread_bytes": thread.total, "thread_path": thread.frames,
        "isr_bytes": worst_isr.total + EXCEPTION_FRAME, "isr_path": worst_isr.frames,
        "isr_roots": {k: v.total for k, v in isrs.items()},
        "worst_bytes": thread.total + worst_isr.total + EXCEPTION_FRAME,
        "assumed_leaf_bytes": ASSUMED_LEAF, "assumed": sorted(an.assumed),
        "unresolved_indirect": sorted(an.unresolved), "unbounded": sorted(an.unbounded),
        "recursion": sorted(an.recursion),
    }


def warnings(logs: list[Path]) -> list[str]:
    return [ln for log in logs if log.is_file() for ln in log.read_text(errors="replace").splitlines()
            if re.search(r"\bwarning:|CMake Warning", ln)]


def fmt_path(frames) -> str:
    return " -> ".join(f"{name} {size}" for name, size in frames)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", type=Path)
    ap.add_argument("--picotool", type=Path)
    ap.add_argument("--log", type=Path, action="append", default=[])
    a = ap.parse_args(argv)
    elf, uf2 = a.build / "fb_rp2040.elf", a.build / "fb_rp2040.uf2"
    for f in (elf, uf2):
        if not f.is_file():
            print(f"board_report: {f} not found (did the build fail?)", file=sys.stderr)
            return 2
    rep = {"elf": str(elf), "uf2": str(uf2), "uf2_bytes": uf2.stat().st_size, **sizes(elf)}
    rep["stack"] = st = stack(a.build)
    rep["warnings"] = warns = warnings(a.log)
    if a.picotool:
        info = subprocess.run([str(a.picotool), "info", "-a", str(uf2)], capture_output=True, text=True)
        rep["picotool_info"] = info.stdout if info.returncode == 0 else info.stderr
    (a.build / "board_report.json").write_text(json.dumps(rep, indent=1))

    limit = rep["stack_bytes"] - HEADROOM
    print(f"board image {uf2.name}: {rep['uf2_bytes']} bytes; flash {rep['flash_bytes']} of "
          f"{FLASH_BYTES} ({100 * rep['flash_bytes'] / FLASH_BYTES:.1f} %); RAM {rep['ram_static_bytes']} "
          f"static + {rep['ram_heap_bytes']} heap + {rep['stack_bytes']} stack of {RAM_BYTES}")
    print(f"stack (-fstack-usage call graph): main loop {st['thread_bytes']} B + interrupt "
          f"{st['isr_bytes']} B = {st['worst_bytes']} B worst case; SDK stack {rep['stack_bytes']} B, "
          f"limit {limit} B ({HEADROOM} B headroom)")
    print(f"  main loop:  {fmt_path(st['thread_path'])}")
    print(f"  interrupt:  {fmt_path(st['isr_path'])} (+{EXCEPTION_FRAME} exception frame)")
    print(f"  counted as {ASSUMED_LEAF}-byte leaves (asm/ROM/libgcc): {', '.join(st['assumed']) or 'none'}")
    for key in ("unresolved_indirect", "unbounded", "recursion"):
        if st[key]:
            print(f"  {key.replace('_', ' ')}: {', '.join(st[key])}")
    print(f"warnings (compiler, CMake): {len(warns)}")
    for w in warns[:20]:
        print("  " + w)
    if "picotool_info" in rep:
        print("picotool info:\n" + "\n".join("  " + ln for ln in rep["picotool_info"].splitlines() if ln.strip()))
    ok = (st["worst_bytes"] <= limit and not warns and not st["unbounded"] and not st["recursion"]
          and not st["unresolved_indirect"])
    if not ok:
        print("board_report: FAILED (see above)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
