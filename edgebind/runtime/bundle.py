"""Loading a bundle: verify the manifest and every file, pick one variant per modality for this
machine (backend, precision, CPU target), check it on the bundle's golden set, and fall back to
the next variant when it does not compute what the exporter measured.

Order of preference per backend (fastest first): TensorRT trt-int8, trt-fp16; ONNX Runtime on a
GPU fp16, fp32, int8; ONNX Runtime on the CPU int8, fp32, fp16 (its FP16 kernels are slower than
FP32 on most CPUs); torch. INT8 variants made for another CPU target are never picked.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from edgebind.fileio import sha256_file
from edgebind.runtime import backends
from edgebind.runtime import cpu as cpu_info
from edgebind.runtime import golden as golden_set
from edgebind.runtime.backends import BACKENDS  # noqa: F401  (re-exported: the daemon config)
from edgebind.runtime.encoder import Encoder
from edgebind.runtime.manifest import BundleError, EncoderEntry, FileRef, Manifest, Variant
from edgebind.runtime.onnx_refs import external_locations
from edgebind.space import check_same_space

log = logging.getLogger("edgebind.runtime")

MANIFEST = "manifest.json"
# Each backend's variant families, fastest first ("NAME-gpu": when a GPU runs it).
PRECISION_ORDER = {
    **{b.name: b.precisions for b in backends.REGISTRY.values()},
    **{f"{b.name}-gpu": b.gpu_precisions for b in backends.REGISTRY.values() if b.gpu_precisions},
}
# Golden-set agreement floors for variants whose manifest records none (older bundles).
DEFAULT_THRESHOLD = {"fp32": 0.999, "torch": 0.999, "fp16": 0.995}
DEFAULT_QUANTIZED_THRESHOLD = 0.95


def verify_file(root: Path, ref: FileRef) -> None:
    p = root / ref.file
    if p.is_symlink():
        raise BundleError(f"{root}: {ref.file} is a symbolic link; bundle files must be regular "
                          "files inside the bundle directory")
    if not p.is_file():
        raise BundleError(f"{root}: {ref.file} is listed in the manifest but missing")
    size = p.stat().st_size
    if size != ref.bytes:
        raise BundleError(f"{root}: {ref.file} has {size} bytes, the manifest says {ref.bytes} "
                          "(truncated or replaced)")
    digest = sha256_file(p)
    if digest != ref.sha256:
        raise BundleError(f"{root}: {ref.file} sha256 {digest[:16]}... does not match the "
                          f"manifest's {ref.sha256[:16]}... (the file was modified)")


def verify_external_data(root: Path, variant: Variant) -> None:
    """An ONNX file may load tensors from other files (relative to its folder, or to the working
    directory when loaded from bytes); only plain names the manifest lists, and so hashes, are
    allowed. Checked here rather than left to ONNX Runtime's version-dependent rules."""
    if variant.format != "onnx":
        return
    listed = {r.file for r in variant.external_data}
    try:
        used = external_locations(root / variant.file.file)
    except ValueError as exc:
        raise BundleError(f"{root}: {variant.file.file} is not a readable ONNX file ({exc})") from exc
    for loc in sorted(used):
        if loc not in listed:
            raise BundleError(f"{root}: {variant.file.file} loads external data from {loc!r}, "
                              "which the manifest does not list (refusing unhashed weights)")


@dataclass
class Choice:
    """What ``load_bundle`` runs for one modality on this machine, and why."""

    modality: str
    variant: str
    backend: str
    status: str                    # verified | fallback | unverified | unchecked
    check: golden_set.CheckResult | None = None
    tried: list[dict[str, Any]] = field(default_factory=list)   # candidates that failed
    skipped: list[str] = field(default_factory=list)            # variants not for this machine

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "backend": self.backend, "status": self.status,
                "check": self.check.to_dict() if self.check else None,
                "tried": self.tried, "skipped": self.skipped}


@dataclass
class Bundle:
    path: Path
    manifest: Manifest
    encoders: dict[str, Encoder]
    choices: dict[str, Choice] = field(default_factory=dict)
    cpu: cpu_info.CpuInfo | None = None

    @property
    def space_id(self) -> str:
        return self.manifest.space_id

    @property
    def embed_dim(self) -> int:
        return self.manifest.embed_dim

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.encoders)

    @property
    def fallbacks(self) -> dict[str, Choice]:
        return {m: c for m, c in self.choices.items() if c.status == "fallback"}

    def report(self) -> dict[str, Any]:
        """Which variant runs per modality, its golden-set check, and the CPU (health, logs)."""
        return {"cpu": self.cpu.to_dict() if self.cpu else None,
                "encoders": {m: c.to_dict() for m, c in self.choices.items()}}

    def check_space(self, other_space_id: str, what: str = "the other side") -> None:
        """Raise SpaceMismatchError unless ``other_space_id`` is this bundle's space."""
        check_same_space(self.space_id, other_space_id, f"bundle {self.path}", what)

    def close(self) -> None:
        for e in self.encoders.values():
            e.close()

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_bundle(path: str | os.PathLike, *, backend: str = "auto",
                precision: str | dict[str, str] | None = None,
                modalities: Iterable[str] | None = None, skip: Iterable[str] = (),
                threads: int | None = None, warmup: bool = True, verify: bool = True,
                check: bool = True, fallback: bool = True, target: str | None = None) -> Bundle:
    """Open a bundle directory.

    backend: ``auto`` (TensorRT engines if usable, else ONNX Runtime, which itself prefers its
    TensorRT/CUDA providers over the CPU), or one of ``tensorrt``, ``onnxruntime``, ``torch``.
    precision: a family (``int8``, ``fp32``, ...) or a variant key, for all modalities (those
    that have it) or as a dict per modality; default: the fastest the backend has for this CPU.
    modalities: the encoders to open (default: all); skip: encoders not to open (a pipeline
    skips ``text``: its anchors arrive embedded).
    verify: check every file's size and sha256 against the manifest (on by default).
    check: run each picked variant on its golden set; below the variant's threshold it is not
    used. fallback: then try the next variant (logged, and in ``Bundle.choices``); without it a
    failed check raises BundleError.
    target: the CPU target to pick INT8 variants for (default: detected; see runtime.cpu).
    """
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"{root}: not a directory (a bundle is a directory with {MANIFEST})")
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    machine = cpu_info.detect()
    if target is not None:
        machine = cpu_info.CpuInfo(machine.machine, machine.model, machine.flags,
                                   cpu_info.check_target(target, "load_bundle(target=...)"), True)
    manifest = Manifest.read(root / MANIFEST)
    chosen = list(modalities) if modalities is not None else list(manifest.encoders)
    chosen = [m for m in chosen if m not in set(skip)]
    for m in chosen:
        if m not in manifest.encoders:
            raise BundleError(f"{root}: has no {m!r} encoder; it has "
                              f"{', '.join(manifest.encoders)}")
    if verify:
        for entry in manifest.encoders.values():
            for ref in entry.files():
                verify_file(root, ref)
            for variant in entry.variants.values():
                verify_external_data(root, variant)
    # One precision for all applies where a tower has it (text is often FP16 only), but must
    # name something the bundle has.
    partial = isinstance(precision, str) and any(_has(manifest.encoders[m], precision)
                                                 for m in chosen)
    encoders: dict[str, Encoder] = {}
    choices: dict[str, Choice] = {}
    try:
        for m in chosen:
            want = precision.get(m) if isinstance(precision, dict) else precision
            if partial and not _has(manifest.encoders[m], precision):
                log.info("%s: %s has no %s variant; using its default", root, m, precision)
                want = None
            encoders[m], choices[m] = _open_checked(root, manifest, m, backend, want, threads,
                                                    machine, warmup, check, fallback)
    except Exception:
        for e in encoders.values():
            e.close()
        raise
    return Bundle(root, manifest, encoders, choices, machine)


def _open_checked(root: Path, manifest: Manifest, m: str, backend: str, want: str | None,
                  threads: int | None, machine: cpu_info.CpuInfo, warmup: bool, check: bool,
                  fallback: bool) -> tuple[Encoder, Choice]:
    entry = manifest.encoders[m]
    candidates, skipped = _candidates(root, entry, backend, want, machine.target, fallback)
    golden = _golden(root, entry) if check else None
    tried: list[dict[str, Any]] = []
    for be, variant in candidates:
        try:
            enc = _open(root, manifest, m, be, variant, threads)
        except BundleError:
            raise                   # a tampered bundle is refused, not worked around
        except Exception as exc:
            tried.append({"variant": variant.precision, "error": f"{type(exc).__name__}: {exc}"[:300]})
            if not fallback:
                raise BundleError(f"{root}: {m} {variant.precision} could not be opened: {exc}") from exc
            log.warning("%s: %s %s could not be opened here (%s); trying the next variant",
                        root, m, variant.precision, exc)
            continue
        if golden is None:
            try:
                if warmup or check:
                    enc.warmup()
            except Exception as exc:
                enc.close()
                tried.append({"variant": variant.precision, "error": f"{exc}"[:300]})
                if not fallback:
                    raise BundleError(f"{root}: {m} {variant.precision} does not run: {exc}") from exc
                continue
            status = "unverified" if check else "unchecked"
            return enc, Choice(m, variant.precision, be, status, None, tried, skipped)
        result = golden_set.check(enc, golden, _threshold(variant), variant.precision)
        if result.passed:
            status = "fallback" if tried else "verified"
            log.info("%s: %s runs %s on %s (golden-set agreement %.5f, threshold %.4f)", root, m,
                     variant.precision, be, result.agreement_min, result.threshold)
            if tried:
                log.warning("%s: %s runs %s on %s after %s", root, m, variant.precision,
                            machine.describe(), "; ".join(_why(t) for t in tried))
            return enc, Choice(m, variant.precision, be, status, result, tried, skipped)
        enc.close()
        tried.append(result.to_dict())
        if not fallback:
            raise BundleError(f"{root}: {m} {variant.precision} failed its golden-set check on "
                              f"{machine.describe()}: {_why(result.to_dict())}")
    detail = "; ".join(_why(t) for t in tried) or "no variant runs here"
    raise BundleError(f"{root}: no {m} variant computes correctly on {machine.describe()} "
                      f"({detail}; skipped: {', '.join(skipped) or 'none'})")


def _has(entry: EncoderEntry, precision: str) -> bool:
    return precision in entry.variants or any(v.family == precision for v in entry.variants.values())


def _why(t: dict[str, Any]) -> str:
    if t.get("error"):
        return f"{t['variant']} failed ({t['error']})"
    return (f"{t['variant']} agreement {t['agreement_min']} below its threshold "
            f"{t['threshold']}")


def _threshold(variant: Variant) -> float:
    if variant.threshold is not None:
        return variant.threshold
    return DEFAULT_THRESHOLD.get(variant.family, DEFAULT_QUANTIZED_THRESHOLD)


def _golden(root: Path, entry: EncoderEntry) -> golden_set.GoldenSet | None:
    if entry.golden is None:
        return None
    try:
        return golden_set.GoldenSet.load(root / entry.golden.file, entry.input.dtype)
    except golden_set.GoldenSetError as exc:
        raise BundleError(f"{root}: {entry.modality} golden set: {exc}") from exc


def _backend_usable(name: str) -> bool:
    return backends.get(name).usable()


def _natural_backend(variant: Variant) -> str:
    """The backend that runs this variant's file format."""
    return backends.for_format(variant.format).name


def _for_target(variant: Variant, target: str | None) -> bool:
    return variant.targets is None or (target is not None and target in variant.targets)


def _candidates(root: Path, entry: EncoderEntry, backend: str, want: str | None,
                target: str | None, fallback: bool) -> tuple[list[tuple[str, Variant]], list[str]]:
    """Variants to try in order, and notes on those not made for this machine."""
    variants = entry.variants
    skipped = [f"{k} (made for {', '.join(v.targets or ())}; this CPU is {target or 'unknown'})"
               for k, v in variants.items() if not _for_target(v, target)]
    names = backends.AUTO_ORDER if backend == "auto" else (backend,)
    usable = [be for be in names if _backend_usable(be)]
    ordered: list[tuple[str, Variant]] = []
    for be in usable:
        for fam in backends.get(be).order():
            ordered += [(be, v) for v in variants.values()
                        if v.family == fam and _natural_backend(v) == be and _for_target(v, target)]
    if want is None:
        if not ordered:
            raise BundleError(f"{root}: no {entry.modality} model runs on backend {backend!r} "
                              f"here; the bundle has {', '.join(variants)}"
                              + (f"; skipped {'; '.join(skipped)}" if skipped else ""))
        return ordered, skipped
    families = {v.family for v in variants.values()}
    if want not in families and want in variants:   # a variant key (int8-s7): exactly that one
        first = [variants[want]]
    else:                         # a family (int8): its variant made for this CPU
        first = [v for v in variants.values() if v.family == want and _for_target(v, target)]
        if not first:
            if want in families and fallback and ordered:
                log.warning("%s: %s has no %s variant made for this CPU (%s); using the next "
                            "one", root, entry.modality, want, target or "unknown target")
                return ordered, skipped
            if want in families:
                raise BundleError(f"{root}: {entry.modality} has no {want!r} variant made for "
                                  f"this CPU ({target or 'unknown target'}); "
                                  f"skipped {'; '.join(skipped)}")
            raise BundleError(f"{root}: {entry.modality} has no {want!r} model; it has "
                              f"{', '.join(variants)}")
    picks = []
    for v in first:
        be = _backend_for(v, backend)
        if not _backend_usable(be):
            raise RuntimeError(f"{entry.modality} {v.precision} needs the {be} backend, which is "
                               "not usable here")
        picks.append((be, v))
    if fallback:
        picks += [c for c in ordered if c[1] not in first]
    return picks, skipped


def _backend_for(variant: Variant, requested: str) -> str:
    natural = _natural_backend(variant)
    if requested not in ("auto", natural):
        raise BundleError(f"a {variant.format} file ({variant.file.file}) cannot run on the "
                          f"{requested} backend")
    return natural


def _open(root: Path, manifest: Manifest, modality: str, backend: str, variant: Variant,
          threads: int | None) -> Encoder:
    entry = manifest.encoders[modality]
    verify_external_data(root, variant)   # always: ONNX Runtime would follow any reference
    return backends.get(backend).open(root / variant.file.file, modality, variant.precision,
                                      entry.input, entry.output, manifest, threads=threads)
