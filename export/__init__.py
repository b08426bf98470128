"""Model -> ONNX -> INT8/FP16 -> TensorRT -> bundle (imported as ``edgebind.export``; needs the
``export`` extra: torch, onnx, onnxscript)."""
from edgebind.export.writer import ExportError, ExportOptions, export_bundle

__all__ = ["ExportError", "ExportOptions", "export_bundle"]
