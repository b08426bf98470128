"""Loading a bundle: verify the manifest and every file hash, then open one encoder per modality
on the best backend available (overridable)."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from edgebind.runtime.encoder import Encoder
from edgebind.space import check_same_space
from edgebind.runtime.manifest import BundleError, FileRef, Manifest, Variant

MANIFEST = "manifest.json"
BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")
# Preference when the caller does not name a precision: fastest first, per backend.
PRECISION_ORDER = {
    "tensorrt": ("trt-int8", "trt-fp16"),
    "onnxruntime-gpu": ("fp16", "fp32", "int8"),
    "onnxruntime": ("int8", "fp32", "fp16"),
    "torch": ("torch",),
}


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_file(root: Path, ref: FileRef) -> None:
    p = root / ref.file
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


@dataclass
class Bundle:
    path: Path
    manifest: Manifest
    encoders: dict[str, Encoder]

    @property
    def space_id(self) -> str:
        return self.manifest.space_id

    @property
    def embed_dim(self) -> int:
        return self.manifest.embed_dim

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.encoders)

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
                modalities: Iterable[str] | None = None, threads: int | None = None,
                warmup: bool = True, verify: bool = True) -> Bundle:
    """Open a bundle directory.

    backend: ``auto`` (TensorRT engines if usable, else ONNX Runtime, which itself prefers its
    TensorRT/CUDA providers over the CPU), or one of ``tensorrt``, ``onnxruntime``, ``torch``.
    precision: one for all modalities or a dict per modality; default: the fastest the backend has.
    verify: check every file's size and sha256 against the manifest (on by default).
    """
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"{root}: not a directory (a bundle is a directory with {MANIFEST})")
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    manifest = Manifest.read(root / MANIFEST)
    chosen = list(modalities) if modalities is not None else list(manifest.encoders)
    for m in chosen:
        if m not in manifest.encoders:
            raise BundleError(f"{root}: has no {m!r} encoder; it has "
                              f"{', '.join(manifest.encoders)}")
    picks = {m: _pick(root, manifest, m, backend, precision) for m in chosen}
    if verify:
        for entry in manifest.encoders.values():
            for variant in entry.variants.values():
                for ref in variant.files():
                    verify_file(root, ref)
    encoders: dict[str, Encoder] = {}
    try:
        for m, (be, variant) in picks.items():
            encoders[m] = _open(root, manifest, m, be, variant, threads)
            if warmup:
                encoders[m].warmup()
    except Exception:
        for e in encoders.values():
            e.close()
        raise
    return Bundle(root, manifest, encoders)


def _backend_usable(name: str) -> bool:
    if name == "tensorrt":
        from edgebind.runtime.backends import tensorrt
        return tensorrt.available()
    if name == "onnxruntime":
        from edgebind.runtime.backends import onnxruntime
        return onnxruntime.available()
    from edgebind.runtime.backends import torch as torch_backend
    return torch_backend.available()


def _pick(root: Path, manifest: Manifest, modality: str, backend: str,
          precision: str | dict[str, str] | None) -> tuple[str, Variant]:
    variants = manifest.encoders[modality].variants
    want = precision.get(modality) if isinstance(precision, dict) else precision
    if want is not None:
        if want not in variants:
            raise BundleError(f"{root}: {modality} has no {want!r} model; it has "
                              f"{', '.join(variants)}")
        be = _backend_for(variants[want], backend)
        if not _backend_usable(be):
            raise RuntimeError(f"{modality} {want} needs the {be} backend, which is not usable here")
        return be, variants[want]
    candidates = ["tensorrt", "onnxruntime", "torch"] if backend == "auto" else [backend]
    for be in candidates:
        if not _backend_usable(be):
            continue
        order = PRECISION_ORDER[be]
        if be == "onnxruntime":
            from edgebind.runtime.backends import onnxruntime
            if onnxruntime.has_gpu_provider():
                order = PRECISION_ORDER["onnxruntime-gpu"]
        for p in order:
            if p in variants and _backend_for(variants[p], be) == be:
                return be, variants[p]
    raise BundleError(f"{root}: no {modality} model runs on backend {backend!r} here; the bundle "
                      f"has {', '.join(variants)}")


def _backend_for(variant: Variant, requested: str) -> str:
    natural = {"onnx": "onnxruntime", "tensorrt": "tensorrt", "torch": "torch"}[variant.format]
    if requested not in ("auto", natural):
        raise BundleError(f"a {variant.format} file ({variant.file.file}) cannot run on the "
                          f"{requested} backend")
    return natural


def _open(root: Path, manifest: Manifest, modality: str, backend: str, variant: Variant,
          threads: int | None) -> Encoder:
    entry = manifest.encoders[modality]
    args = (root / variant.file.file, modality, variant.precision, entry.input, entry.output,
            manifest.space_id)
    if backend == "tensorrt":
        from edgebind.runtime.backends.tensorrt import TensorRTEncoder
        return TensorRTEncoder(*args, threads=threads)
    if backend == "onnxruntime":
        from edgebind.runtime.backends.onnxruntime import OnnxRuntimeEncoder
        return OnnxRuntimeEncoder(*args, threads=threads)
    from edgebind.runtime.backends.torch import TorchEncoder
    return TorchEncoder(*args, threads=threads, model_config=manifest.model.get("config"))
