"""Backends are looked up by name in one registry (no if-chains over names)."""
import pytest

from edgebind.runtime import backends
from edgebind.runtime.bundle import BACKENDS, PRECISION_ORDER


def test_registry_names_formats_and_auto_order():
    assert BACKENDS == ("auto", "tensorrt", "onnxruntime", "torch") == backends.BACKENDS
    assert backends.AUTO_ORDER == ("tensorrt", "onnxruntime", "torch")
    assert backends.for_format("onnx").name == "onnxruntime"
    assert backends.for_format("tensorrt").name == "tensorrt"
    assert PRECISION_ORDER["onnxruntime-gpu"] == ("fp16", "fp32", "int8")
    with pytest.raises(KeyError, match="no backend 'cuda'"):
        backends.get("cuda")
    with pytest.raises(KeyError, match="no backend runs 'tflite'"):
        backends.for_format("tflite")


def test_tensorrt_is_skipped_cleanly_without_its_package():
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        assert backends.get("tensorrt").usable() is False
    assert backends.get("onnxruntime").usable() is True
