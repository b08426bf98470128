"""Inference backends behind ``edgebind.runtime.Encoder``, looked up by name in :data:`REGISTRY`.

Each entry says which variant formats the backend runs, its preferred precision order, and where
its module and Encoder class live; the module is imported only when the backend is asked whether
it is usable or opens an encoder (so TensorRT and torch stay optional, and device code never
imports torch). A new backend is a new module here and a new entry below.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

_PACKAGE = __name__


def _no_extras(manifest: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Backend:
    """One inference backend. ``precisions``: its variant families, fastest first;
    ``gpu_precisions``: the order instead when its module's ``has_gpu_provider()`` says a GPU
    runs it; ``extras(manifest)``: keywords its Encoder needs beyond the common ones."""

    name: str
    formats: tuple[str, ...]
    module: str
    encoder: str
    precisions: tuple[str, ...]
    gpu_precisions: tuple[str, ...] | None = None
    extras: Callable[[Any], dict[str, Any]] = _no_extras

    def _module(self) -> ModuleType:
        return importlib.import_module(f"{_PACKAGE}.{self.module}")

    def usable(self) -> bool:
        """Whether it runs here (its libraries import; for TensorRT, a CUDA device answers)."""
        return self._module().available()

    def order(self) -> tuple[str, ...]:
        """The variant families to try on this machine, fastest first."""
        if self.gpu_precisions is not None and self._module().has_gpu_provider():
            return self.gpu_precisions
        return self.precisions

    def open(self, path: Path, modality: str, precision: str, input_spec: Any, output_spec: Any,
             manifest: Any, threads: int | None = None) -> Any:
        """Its Encoder for one variant file of ``manifest``'s bundle."""
        cls = getattr(self._module(), self.encoder)
        return cls(path, modality, precision, input_spec, output_spec, manifest.space_id,
                   threads=threads, **self.extras(manifest))


REGISTRY: dict[str, Backend] = {b.name: b for b in (
    Backend("tensorrt", ("tensorrt",), "tensorrt", "TensorRTEncoder", ("trt-int8", "trt-fp16")),
    # ONNX Runtime's FP16 kernels are slower than FP32 on most CPUs; on a GPU FP16 is fastest.
    Backend("onnxruntime", ("onnx",), "onnxruntime", "OnnxRuntimeEncoder",
            ("int8", "fp32", "fp16"), gpu_precisions=("fp16", "fp32", "int8")),
    Backend("torch", ("torch",), "torch", "TorchEncoder", ("torch",),
            extras=lambda manifest: {"model_config": manifest.model.get("config")}),
)}
# ``auto`` tries the registry in order: TensorRT engines, then ONNX Runtime, then torch.
AUTO_ORDER = tuple(REGISTRY)
BACKENDS = ("auto", *REGISTRY)


def get(name: str) -> Backend:
    """The backend called ``name`` (KeyError names the known ones)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no backend {name!r}; known: {', '.join(REGISTRY)}") from None


def for_format(fmt: str) -> Backend:
    """The backend that runs variant files of format ``fmt`` (``onnx``, ``tensorrt``, ...)."""
    for b in REGISTRY.values():
        if fmt in b.formats:
            return b
    raise KeyError(f"no backend runs {fmt!r} files; known: {', '.join(REGISTRY)}")
