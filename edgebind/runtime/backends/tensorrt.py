"""TensorRT backend: runs serialized engines (built on the device they run on, see
``edgebind.export.tensorrt``). Needs an NVIDIA GPU, the ``tensorrt`` package and cuda-python."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgebind.runtime.encoder import Encoder
from edgebind.runtime.manifest import TensorSpec


def available() -> bool:
    try:
        import tensorrt  # noqa: F401
        _cudart()
    except Exception:  # ImportError, or a driver/library load failure: no usable TensorRT
        return False
    return True


def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        from cuda import cudart  # older cuda-python
    return cudart


def _check(result):
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return rest[0] if len(rest) == 1 else rest


class TensorRTEncoder(Encoder):
    backend = "tensorrt"

    def __init__(self, path: Path, modality: str, precision: str, input_spec: TensorSpec,
                 output_spec: TensorSpec, space_id: str, threads: int | None = None):
        super().__init__(modality, precision, input_spec, output_spec, space_id)
        import tensorrt as trt
        self._cudart = _cudart()
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(Path(path).read_bytes())
        if self._engine is None:
            raise RuntimeError(f"{path}: TensorRT could not deserialize this engine (engines are "
                               "specific to the GPU and TensorRT version that built them; rebuild "
                               "it on this device with `edgebind export --precision trt-fp16`)")
        self._context = self._engine.create_execution_context()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        self._in = next(n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self._out = next(n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
        self._stream = _check(self._cudart.cudaStreamCreate())
        self._buffers: dict[str, tuple[int, int]] = {}  # name -> (device ptr, bytes)

    def _device_buffer(self, name: str, nbytes: int) -> int:
        ptr, size = self._buffers.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                _check(self._cudart.cudaFree(ptr))
            ptr = _check(self._cudart.cudaMalloc(nbytes))
            self._buffers[name] = (ptr, nbytes)
        return ptr

    def _run(self, batch: np.ndarray) -> np.ndarray:
        cudart = self._cudart
        self._context.set_input_shape(self._in, batch.shape)
        out_shape = tuple(self._context.get_tensor_shape(self._out))
        out = np.empty(out_shape, dtype=np.float32)
        d_in = self._device_buffer(self._in, batch.nbytes)
        d_out = self._device_buffer(self._out, out.nbytes)
        kind_h2d = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        kind_d2h = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(cudart.cudaMemcpyAsync(d_in, batch.ctypes.data, batch.nbytes, kind_h2d, self._stream))
        self._context.set_tensor_address(self._in, d_in)
        self._context.set_tensor_address(self._out, d_out)
        if not self._context.execute_async_v3(self._stream):
            raise RuntimeError(f"{self}: TensorRT execution failed")
        _check(cudart.cudaMemcpyAsync(out.ctypes.data, d_out, out.nbytes, kind_d2h, self._stream))
        _check(cudart.cudaStreamSynchronize(self._stream))
        return out

    def close(self) -> None:
        for ptr, _ in self._buffers.values():
            self._cudart.cudaFree(ptr)
        self._buffers.clear()
        if getattr(self, "_stream", None) is not None:
            self._cudart.cudaStreamDestroy(self._stream)
            self._stream = None
