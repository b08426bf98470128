"""ONNX -> TensorRT engine (FP16, or INT8 from the QDQ file). Needs an NVIDIA GPU and the
``tensorrt`` package; engines are specific to the GPU model and TensorRT version that built them,
so build on the device itself (see the README, "TensorRT on a Jetson")."""
from __future__ import annotations

from pathlib import Path


def available() -> bool:
    try:
        import tensorrt  # noqa: F401
    except Exception:
        return False
    return True


def build_engine(onnx_path: Path, engine_path: Path, input_name: str,
                 sample_shape: tuple[int, ...], batches: list[int], precision: str,
                 timing_cache: Path | None = None, workspace_gb: float = 2.0,
                 min_sample_shape: tuple[int, ...] | None = None) -> dict:
    """Build and serialize an engine. ``precision``: ``fp16`` or ``int8`` (expects a QDQ file).

    One optimisation profile spans the requested batch sizes: min = smallest, opt = max = largest.
    The timing cache is read before and written after, so rebuilds take seconds.
    """
    import tensorrt as trt

    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    timing_cache = Path(timing_cache) if timing_cache else None
    if precision not in ("fp16", "int8"):
        raise ValueError(f"TensorRT precision {precision!r}: expected fp16 or int8")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # TensorRT 8.x
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)  # scales come from the QDQ nodes, no calibrator
    profile = builder.create_optimization_profile()
    lo, hi = min(batches), max(batches)
    # Dynamic non-batch axes (audio clips) range from min_sample_shape to sample_shape.
    low = tuple(min_sample_shape or sample_shape)
    profile.set_shape(input_name, (lo, *low), (hi, *low), (hi, *sample_shape))
    config.add_optimization_profile(profile)
    cache_bytes = timing_cache.read_bytes() if timing_cache and timing_cache.is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path}")
    Path(engine_path).write_bytes(bytes(serialized))
    if timing_cache:
        Path(timing_cache).write_bytes(bytes(config.get_timing_cache().serialize()))
    return {"tensorrt_version": trt.__version__, "profile": {"min": lo, "opt": hi, "max": hi},
            "precision": precision}
