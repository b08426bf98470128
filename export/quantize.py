"""FP16 and INT8 variants of an exported FP32 ONNX tower.

INT8 comes in three forms, measured against each other by ``edgebind bench``:
- ``dynamic`` (the CPU default): weights int8 per-channel, activations quantized to uint8 at run
  time. ONNX Runtime then runs u8 x s8 integer GEMMs (the fast VNNI path); the patch convolution
  stays FP32. In the probe this beat static QDQ, which lost its gain to a quantized softmax.
- ``qdq``: static QuantizeLinear/DequantizeLinear pairs, symmetric int8 activations and weights,
  weights per-channel, Conv/MatMul/Gemm with constant weights only. This is the form TensorRT
  builds INT8 engines from.
- ``qoperator``: static QLinear* operators (u8 activations, s8 weights) for ONNX Runtime CPU.

Each form is made with one of three weight encodings, chosen per CPU target (``edgebind.runtime.cpu``):
- ``s8``: int8 weights, full range. Exact on VNNI and ARM64; on AVX2 without VNNI the u8 x s8
  kernel adds pairs of products into a saturating int16 and can go badly wrong.
- ``s7``: int8 weights in 7 bits (ONNX Runtime's ``reduce_range``): pairs of products fit int16,
  so the fast u8 x s8 kernel is exact on every x86 CPU, at half the weight resolution.
- ``u8``: uint8 weights: ONNX Runtime runs u8 x u8 kernels that widen to 16 bits first (exact,
  slower than u8 x s8 on AVX2).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

INT8_FORMS = ("dynamic", "qdq", "qoperator")
WEIGHT_FORMS = ("s8", "s7", "u8")
# Weight encodings per CPU target, most preferred first (speed on that target, then accuracy).
TARGET_WEIGHTS: dict[str, tuple[str, ...]] = {
    "x86-vnni": ("s8",), "arm64": ("s8",), "x86-avx2": ("s7", "u8")}
# Weight encodings whose integer arithmetic is exact on this target (ONNX Runtime's kernels).
EXACT_ON: dict[str, tuple[str, ...]] = {
    "x86-vnni": WEIGHT_FORMS, "arm64": WEIGHT_FORMS, "x86-avx2": ("s7", "u8")}


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


# Ops that only move or reshape data: a MatMul reached from the graph input through these alone
# is an input stem (it sees raw sensor values).
_SHAPE_OPS = {"Reshape", "Transpose", "Unsqueeze", "Squeeze", "Flatten", "Identity", "Cast",
              "Slice", "Pad", "Expand"}


def input_stem_nodes(model_path: Path, op_types: Iterable[str] = ("MatMul", "Gemm")) -> list[str]:
    """Weight nodes fed straight by the model input (through shape-only ops).

    They stay FP32: dynamic INT8 quantizes a MatMul's input with one scale per tensor, and a raw
    sensor input mixes channels of very different ranges (IMU: gravity in m/s^2 beside gyro
    rad/s), so the small channels vanish. On the default model quantizing only the IMU stem
    cost 2.5 points of zero-shot agreement, every other MatMul together less than 0.1."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    reached = {i.name for i in graph.input}
    wanted, stems = set(op_types), []
    for node in graph.node:  # nodes are stored in topological order
        if not any(x in reached for x in node.input):
            continue
        if node.op_type in _SHAPE_OPS:
            reached.update(node.output)
        elif node.op_type in wanted and node.input and node.input[0] in reached:
            stems.append(node.name)
    return stems


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


def _weight_options(weights: str):
    from onnxruntime.quantization import QuantType
    if weights not in WEIGHT_FORMS:
        raise ValueError(f"int8 weights {weights!r}: expected one of {', '.join(WEIGHT_FORMS)}")
    wtype = QuantType.QUInt8 if weights == "u8" else QuantType.QInt8
    desc = {"s8": "int8 per-channel symmetric", "s7": "int8 per-channel symmetric, 7-bit range",
            "u8": "uint8 per-channel"}[weights]
    return wtype, weights == "s7", desc


def to_int8(src: Path, dst: Path, form: str, input_name: str,
            calibration: list[np.ndarray] | None = None, external: bool = False,
            weights: str = "s8", quantize_stems: bool = False) -> dict:
    """Quantize ``src`` into ``dst``; returns what was done, for the manifest. Input stems stay
    FP32 unless ``quantize_stems`` (see ``input_stem_nodes``)."""
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if form not in INT8_FORMS:
        raise ValueError(f"int8 form {form!r}: expected one of {', '.join(INT8_FORMS)}")
    wtype, reduce_range, wdesc = _weight_options(weights)
    with tempfile.TemporaryDirectory(dir=Path(dst).parent, prefix=".quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        # skip_symbolic_shape: the symbolic shape pass fails on these graphs in ORT 1.32.
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True,
                          save_as_external_data=external, all_tensors_to_one_file=True)
        stems = [] if quantize_stems else input_stem_nodes(pre)
        if form == "dynamic":
            ops = ["MatMul", "Gemm"]
            quantize_dynamic(str(pre), str(dst), op_types_to_quantize=ops, per_channel=True,
                             weight_type=wtype, reduce_range=reduce_range,
                             use_external_data_format=external, nodes_to_exclude=stems,
                             extra_options={"MatMulConstBOnly": True})
            return {"form": "dynamic", "weight_form": weights, "weights": wdesc,
                    "activations": "uint8 dynamic per-tensor", "ops": ops,
                    "float_ops": ["Conv (patch stem)", "attention score MatMuls"]
                    + [f"input stem {n}" for n in stems]}
        if not calibration:
            raise ValueError(f"static INT8 ({form}) needs calibration batches; none were given")
        ops = ["Conv", "MatMul", "Gemm"]
        nodes = [n for n in constant_weight_nodes(pre, ops) if n not in stems]
        qdq = form == "qdq"
        quantize_static(
            str(pre), str(dst), ArrayReader(input_name, calibration),
            quant_format=QuantFormat.QDQ if qdq else QuantFormat.QOperator,
            op_types_to_quantize=ops, nodes_to_quantize=nodes, per_channel=True,
            reduce_range=reduce_range,
            activation_type=QuantType.QInt8 if qdq else QuantType.QUInt8,
            weight_type=wtype, calibrate_method=CalibrationMethod.MinMax,
            use_external_data_format=external,
            extra_options={"ActivationSymmetric": qdq, "WeightSymmetric": weights != "u8",
                           "QuantizeBias": not qdq})
        return {"form": form, "weight_form": weights, "weights": wdesc,
                "activations": ("int8 symmetric static" if qdq else "uint8 static"),
                "ops": ops, "calibration_batches": len(calibration),
                "calibration_method": "minmax", "float_ops": [f"input stem {n}" for n in stems]}


# Where an int8 weight tensor, its zero point and its scale (None: no scale input) sit among a
# quantized node's inputs.
_WEIGHT_INPUTS = {"MatMulInteger": (1, 3, None), "ConvInteger": (1, 3, None),
                  "QLinearMatMul": (3, 5, 4), "QLinearConv": (3, 5, 4),
                  "DequantizeLinear": (0, 2, 1), "DynamicQuantizeMatMul": (1, 3, 2)}


def exact_copy(src: Path, dst: Path) -> Path:
    """The same INT8 model with every int8 weight stored as uint8 + 128 (zero point + 128).

    Mathematically identical, and ONNX Runtime runs it with u8 x u8 kernels, which are exact on
    every CPU: an exporter on an AVX2 machine measures what a VNNI or ARM64 device will compute
    with the int8 file, instead of its own saturated result."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(src))
    inits = {t.name: t for t in proto.graph.initializer}
    done: set[str] = set()
    for node in proto.graph.node:
        where = _WEIGHT_INPUTS.get(node.op_type)
        if not where or len(node.input) <= where[0] or node.input[where[0]] not in inits:
            continue
        w = inits[node.input[where[0]]]
        if w.data_type != onnx.TensorProto.INT8:
            continue
        zp_name = node.input[where[1]] if len(node.input) > where[1] else ""
        if zp_name and zp_name not in inits:
            continue  # a computed zero point: leave the node as it is
        for name in (w.name, zp_name):
            if name and name not in done:
                t = inits[name]
                u = (numpy_helper.to_array(t).astype(np.int16) + 128).astype(np.uint8)
                t.CopyFrom(numpy_helper.from_array(u, name))
                done.add(name)
        if not zp_name:  # absent zero point means 0 in int8, i.e. 128 in uint8 (scale's shape)
            scale = inits.get(node.input[where[2]]) if where[2] is not None else None
            shape = tuple(scale.dims) if scale is not None else ()
            name = f"{w.name}__zp_u8"
            if name not in done:
                proto.graph.initializer.append(
                    numpy_helper.from_array(np.full(shape, 128, np.uint8), name))
                done.add(name)
            while len(node.input) <= where[1]:
                node.input.append("")
            node.input[where[1]] = name
    onnx.save_model(proto, str(dst))
    return Path(dst)
