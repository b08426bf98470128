"""FP16 and INT8 variants of an exported FP32 ONNX tower.

INT8 comes in three forms, measured against each other by ``edgebind bench``:
- ``dynamic`` (the CPU default): weights int8 per-channel, activations quantized to uint8 at run
  time. ONNX Runtime then runs u8 x s8 integer GEMMs (the fast VNNI path); the patch convolution
  stays FP32. In the probe this beat static QDQ, which lost its gain to a quantized softmax.
- ``qdq``: static QuantizeLinear/DequantizeLinear pairs, symmetric int8 activations and weights,
  weights per-channel, Conv/MatMul/Gemm with constant weights only. This is the form TensorRT
  builds INT8 engines from.
- ``qoperator``: static QLinear* operators (u8 activations, s8 weights) for ONNX Runtime CPU.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

INT8_FORMS = ("dynamic", "qdq", "qoperator")


def to_fp16(src: Path, dst: Path, external: bool = False) -> Path:
    """FP16 weights and compute; the input and output stay float32 so callers don't change."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from edgebind.export.onnx_export import save_model

    proto = onnx.load(str(src))
    # ORT's CPU kernels accumulate LayerNormalization and Softmax in float32 even for FP16
    # tensors, so the whole graph converts; blocking them leaves mismatched FP16 weights.
    half = convert_float_to_float16(proto, keep_io_types=True, disable_shape_infer=True)
    save_model(half, dst, external=external)
    return dst


def constant_weight_nodes(model_path: Path, op_types: Iterable[str]) -> list[str]:
    """Names of nodes of ``op_types`` whose weight input is a constant initializer.

    Quantizing activation x activation MatMuls (attention scores, attention x values) costs much
    accuracy and little time, so static quantization leaves them in float.
    """
    import onnx

    proto = onnx.load(str(model_path), load_external_data=False)
    inits = {t.name for t in proto.graph.initializer}
    consts = {n.output[0] for n in proto.graph.node if n.op_type == "Constant"}
    wanted = set(op_types)
    return [n.name for n in proto.graph.node
            if n.op_type in wanted and len(n.input) > 1 and (n.input[1] in inits or n.input[1] in consts)]


class ArrayReader:
    """Feeds calibration batches to ONNX Runtime's static quantizer."""

    def __init__(self, input_name: str, batches: Iterable[np.ndarray]):
        self.input_name = input_name
        self._it: Iterator[np.ndarray] = iter(list(batches))

    def get_next(self):
        x = next(self._it, None)
        return None if x is None else {self.input_name: x}

    def rewind(self):  # pragma: no cover - required by some ORT versions' interface
        pass


def to_int8(src: Path, dst: Path, form: str, input_name: str,
            calibration: list[np.ndarray] | None = None, external: bool = False) -> dict:
    """Quantize ``src`` into ``dst``; returns what was done, for the manifest."""
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if form not in INT8_FORMS:
        raise ValueError(f"int8 form {form!r}: expected one of {', '.join(INT8_FORMS)}")
    with tempfile.TemporaryDirectory(dir=Path(dst).parent, prefix=".quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        # skip_symbolic_shape: the symbolic shape pass fails on these graphs in ORT 1.32.
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True,
                          save_as_external_data=external, all_tensors_to_one_file=True)
        if form == "dynamic":
            ops = ["MatMul", "Gemm"]
            quantize_dynamic(str(pre), str(dst), op_types_to_quantize=ops, per_channel=True,
                             weight_type=QuantType.QInt8, use_external_data_format=external,
                             extra_options={"MatMulConstBOnly": True})
            return {"form": "dynamic", "weights": "int8 per-channel symmetric",
                    "activations": "uint8 dynamic per-tensor", "ops": ops,
                    "float_ops": ["Conv (patch stem)", "attention score MatMuls"]}
        if not calibration:
            raise ValueError(f"static INT8 ({form}) needs calibration batches; none were given")
        ops = ["Conv", "MatMul", "Gemm"]
        nodes = constant_weight_nodes(pre, ops)
        qdq = form == "qdq"
        quantize_static(
            str(pre), str(dst), ArrayReader(input_name, calibration),
            quant_format=QuantFormat.QDQ if qdq else QuantFormat.QOperator,
            op_types_to_quantize=ops, nodes_to_quantize=nodes, per_channel=True,
            activation_type=QuantType.QInt8 if qdq else QuantType.QUInt8,
            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
            use_external_data_format=external,
            extra_options={"ActivationSymmetric": qdq, "WeightSymmetric": True,
                           "QuantizeBias": not qdq})
        return {"form": form, "weights": "int8 per-channel symmetric",
                "activations": ("int8 symmetric static" if qdq else "uint8 static"),
                "ops": ops, "calibration_batches": len(calibration),
                "calibration_method": "minmax"}
