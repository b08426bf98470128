"""ONNX Runtime backend: TensorRT or CUDA execution providers where present, CPU otherwise."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgebind.runtime.encoder import Encoder
from edgebind.runtime.manifest import TensorSpec

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def has_gpu_provider() -> bool:
    import onnxruntime as ort
    return any(p in ort.get_available_providers() for p in GPU_PROVIDERS)


def session_options(threads: int | None):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads or os.cpu_count() or 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # warnings about unfoldable constants are noise to users
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.intra_op.allow_spinning", "1")
    return so


class OnnxRuntimeEncoder(Encoder):
    backend = "onnxruntime"

    def __init__(self, path: Path, modality: str, precision: str, input_spec: TensorSpec,
                 output_spec: TensorSpec, space_id: str, threads: int | None = None,
                 providers: list[str] | None = None):
        super().__init__(modality, precision, input_spec, output_spec, space_id)
        import onnxruntime as ort
        if providers is None:
            have = ort.get_available_providers()
            providers = [p for p in GPU_PROVIDERS if p in have] + ["CPUExecutionProvider"]
        # ORT 1.32's NCHWc layout transformer crashes on some FP16 graphs; it buys nothing for
        # transformer towers, so it is off for every precision.
        self.session = ort.InferenceSession(
            str(path), sess_options=session_options(threads), providers=providers,
            disabled_optimizers=["NchwcTransformer"])
        self.providers = self.session.get_providers()
        self._in = self.session.get_inputs()[0].name
        self._out = self.session.get_outputs()[0].name

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([self._out], {self._in: batch})[0]

    def close(self) -> None:
        self.session = None
