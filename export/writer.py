"""``export_bundle``: model -> per-modality ONNX (FP32/FP16/INT8), TensorRT engines, parity and
accuracy reports -> one verified bundle directory, written to a temporary folder and renamed into
place only when complete (nothing half-written can be mistaken for a good bundle)."""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgebind.errors import EdgeBindError
from edgebind import __version__
from edgebind.export import calibration_data, onnx_export, quantize
from edgebind.runtime import accuracy
from edgebind.export import tensorrt as trt_build
from edgebind.modality import INPUT_SPECS, MODALITIES
from edgebind.progress import Steps
from edgebind.runtime.bundle import MANIFEST, sha256_file
from edgebind.runtime.manifest import EncoderEntry, FileRef, Manifest, TensorSpec, Variant

PRECISIONS = ("fp32", "fp16", "int8", "trt-fp16", "trt-int8", "torch")


class ExportError(EdgeBindError, RuntimeError):
    """The export could not produce a bundle that meets its requirements."""


@dataclass
class ExportOptions:
    modalities: list[str]
    precisions: list[str] = field(default_factory=lambda: ["fp32"])
    calibration: str | None = None
    batches: list[int] = field(default_factory=lambda: [1, 8])
    int8_form: str = "auto"          # auto | dynamic | qdq | qoperator (ONNX Runtime CPU INT8)
    smoothquant: float | None = 0.5  # alpha; None turns it off
    min_cosine: float | None = None  # fail if any variant's centred cosine to FP32 is below
    anchors: np.ndarray | None = None
    opset: int = 17
    threads: int | None = None
    seed: int = 0
    progress: bool = True

    def validate(self) -> None:
        for p in self.precisions:
            if p not in PRECISIONS:
                raise ValueError(f"precision {p!r}: expected some of {', '.join(PRECISIONS)}")
        for m in self.modalities:
            if m not in MODALITIES:
                raise ValueError(f"modality {m!r}: expected some of {', '.join(MODALITIES)}")
        if not self.modalities or not self.precisions:
            raise ValueError("choose at least one modality and one precision")
        if any(b < 1 for b in self.batches):
            raise ValueError(f"batch sizes must be >= 1, got {self.batches}")
        if self.int8_form not in ("auto", *quantize.INT8_FORMS):
            raise ValueError(f"int8 form {self.int8_form!r}: expected auto or one of "
                             f"{', '.join(quantize.INT8_FORMS)}")
        if any(p.startswith("trt-") for p in self.precisions) and not trt_build.available():
            raise ValueError("trt-* precisions need TensorRT and an NVIDIA GPU (pip install "
                             "'edgebind[tensorrt]' on the device); export the ONNX precisions here "
                             "and build engines on the device")


def export_bundle(model, out: str | os.PathLike, options: ExportOptions, *, space_id: str,
                  model_info: dict) -> Manifest:
    """Write a bundle for ``model`` (an ``edgebind.models`` ImageBind model) into ``out``."""
    import torch

    options.validate()
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose a new folder or remove it first")
    missing = [m for m in options.modalities if m not in model_modalities(model)]
    if missing:
        raise ValueError(f"the model has no {', '.join(missing)} tower; it has "
                         f"{', '.join(model_modalities(model))}")
    if options.threads:
        torch.set_num_threads(options.threads)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    steps = Steps(total=len(options.modalities) * (1 + len(options.precisions)), label="export",
                  enabled=options.progress)
    try:
        encoders = {}
        for m in options.modalities:
            encoders[m] = _export_modality(model, m, tmp, options, steps)
        from edgebind.preprocess import PreprocessConfig
        manifest = Manifest(
            space_id=space_id, embed_dim=int(encoders[options.modalities[0]].output.shape[-1]),
            encoders=encoders, model=model_info, preprocess=PreprocessConfig().to_dict(),
            extra={"edgebind_version": __version__,
                   "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "export": {"opset": options.opset, "batches": options.batches,
                              "calibration": options.calibration or "generated",
                              "smoothquant_alpha": options.smoothquant}})
        manifest.write(tmp / MANIFEST)
        Manifest.read(tmp / MANIFEST)  # what we wrote must parse
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        steps.close()
    return manifest


def model_modalities(model) -> list[str]:
    return [m for m in MODALITIES if m in getattr(model, "modalities", MODALITIES)]


def _torch_embed(model, modality: str, x: np.ndarray, batch: int = 8) -> np.ndarray:
    import torch
    outs = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            outs.append(model({modality: torch.from_numpy(x[i:i + batch])})[modality].float().numpy())
    return np.concatenate(outs)


def _ort_embed(path: Path, x: np.ndarray, threads: int | None, batch: int = 8) -> tuple[np.ndarray, float]:
    """Embeddings from an ONNX file on the CPU, and the mean seconds per batch of ``batch``."""
    from edgebind.runtime.backends.onnxruntime import session_options
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), sess_options=session_options(threads),
                                providers=["CPUExecutionProvider"],
                                disabled_optimizers=["NchwcTransformer"])
    name = sess.get_inputs()[0].name
    sess.run(None, {name: x[:batch]})  # warm-up
    outs, t0 = [], time.perf_counter()
    for i in range(0, len(x), batch):
        outs.append(sess.run(None, {name: x[i:i + batch]})[0])
    dt = (time.perf_counter() - t0) / max(1, -(-len(x) // batch))
    return np.concatenate(outs).astype(np.float32), dt


def _ref(path: Path, root: Path) -> FileRef:
    return FileRef(path.name, sha256_file(path), path.stat().st_size)


def _variant(precision: str, path: Path, root: Path, fmt: str, info: dict) -> Variant:
    ext = tuple(_ref(p, root) for p in onnx_export.external_files(path)) if fmt == "onnx" else ()
    return Variant(precision, _ref(path, root), fmt, ext, info)


def _check_threshold(options: ExportOptions, modality: str, precision: str, report: dict) -> None:
    if options.min_cosine is not None and report["centred_cosine_mean"] < options.min_cosine:
        raise ExportError(
            f"{modality} {precision}: centred cosine to FP32 is {report['centred_cosine_mean']:.4f}, "
            f"below --min-cosine {options.min_cosine}; not writing a bundle that would give wrong "
            "answers (try --smoothquant, more representative --calibration data, or fp16)")


def _export_modality(model, m: str, tmp: Path, options: ExportOptions, steps: Steps) -> EncoderEntry:
    spec = INPUT_SPECS[m]
    calib = calibration_data.resolve(options.calibration, m, seed=options.seed)
    held = calib.held_out
    ref = _torch_embed(model, m, held)
    dim = int(ref.shape[-1])
    variants: dict[str, Variant] = {}
    work = tmp / ".work"
    work.mkdir(exist_ok=True)
    fp32 = tmp / f"{m}.fp32.onnx"
    with steps.step(f"{m}: torch -> ONNX fp32"):
        onnx_export.export_onnx(model, m, fp32, opset=options.opset, example=held[:2])
        got, _ = _ort_embed(fp32, held, options.threads)
        parity = accuracy.compare(ref, got)
    external = bool(onnx_export.external_files(fp32))
    base_info = {"parity_vs_torch": parity, "calibration_source": calib.source}
    for p in options.precisions:
        with steps.step(f"{m}: {p}"):
            if p == "fp32":
                variants[p] = _variant(p, fp32, tmp, "onnx", {"parity": parity})
            elif p == "fp16":
                path = quantize.to_fp16(fp32, tmp / f"{m}.fp16.onnx", external=external)
                got, _ = _ort_embed(path, held, options.threads)
                report = accuracy.compare(ref, got, options.anchors)
                _check_threshold(options, m, p, report)
                variants[p] = _variant(p, path, tmp, "onnx", {"accuracy": report})
            elif p == "int8":
                path, info = _int8_cpu(model, m, fp32, tmp, work, calib, ref, options, external)
                variants[p] = _variant(p, path, tmp, "onnx", info)
            elif p.startswith("trt-"):
                variants[p] = _trt(model, m, fp32, tmp, work, calib, options, external, p)
            elif p == "torch":
                import torch
                path = tmp / f"{m}.torch.pt"
                prefix = tuple(f"modality_{k}.{m}." for k in ("preprocessors", "trunks", "heads",
                                                             "postprocessors"))
                torch.save({k: v for k, v in model.state_dict().items() if k.startswith(prefix)}, path)
                variants[p] = _variant(p, path, tmp, "torch", {"parity": {"max_abs_diff": 0.0}})
    if "fp32" not in options.precisions:
        fp32.unlink()
        for f in tmp.glob(f"{m}.fp32.onnx.data"):
            f.unlink()
    shutil.rmtree(work, ignore_errors=True)
    for v in variants.values():
        v.info.update({k: val for k, val in base_info.items() if k not in v.info})
    batch = "batch"
    return EncoderEntry(m, TensorSpec(m, (batch, *spec.shape), spec.dtype),
                        TensorSpec(onnx_export.OUTPUT_NAME, (batch, dim), "float32"), variants)


def _smoothed_fp32(model, m: str, fp32: Path, work: Path, calib, options: ExportOptions):
    """The FP32 file to quantize: SmoothQuant-rescaled when enabled (same function, flatter
    activations), else the plain export."""
    if options.smoothquant is None:
        return fp32, {"smoothquant": None}
    from edgebind.export.smoothquant import smooth_tower
    smoothed, stats = smooth_tower(model, m, calib.calibration, alpha=options.smoothquant)
    path = work / f"{m}.smooth.onnx"
    onnx_export.export_onnx(smoothed, m, path, opset=options.opset, example=calib.held_out[:2])
    return path, {"smoothquant": stats}


def _int8_cpu(model, m, fp32, tmp, work, calib, ref, options, external):
    src, smooth_info = _smoothed_fp32(model, m, fp32, work, calib, options)
    forms = list(quantize.INT8_FORMS) if options.int8_form == "auto" else [options.int8_form]
    trials = {}
    for form in forms:
        path = work / f"{m}.int8-{form}.onnx"
        try:
            info = quantize.to_int8(src, path, form, m, calib.calibration, external=external)
            got, sec = _ort_embed(path, calib.held_out, options.threads)
        except Exception as exc:  # a form ORT cannot build or run here is reported, not fatal
            trials[form] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        report = accuracy.compare(ref, got, options.anchors)
        ok = options.min_cosine is None or report["centred_cosine_mean"] >= options.min_cosine
        trials[form] = {"info": info, "accuracy": report, "sec_per_batch8": sec, "meets_min": ok,
                        "path": path}
    usable = [f for f in forms if "path" in trials[f] and trials[f]["meets_min"]]
    if not usable:
        best = max((t for t in trials.values() if "accuracy" in t),
                   key=lambda t: t["accuracy"]["centred_cosine_mean"], default=None)
        if best is None:
            raise ExportError(f"{m} int8: no INT8 form could be built: "
                              + "; ".join(f"{f}: {t.get('error')}" for f, t in trials.items()))
        _check_threshold(options, m, "int8", best["accuracy"])
    chosen = min(usable, key=lambda f: trials[f]["sec_per_batch8"])
    final = tmp / f"{m}.int8.onnx"
    if onnx_export.external_files(trials[chosen]["path"]):
        import onnx  # re-save so the external-data file name follows the final name
        onnx_export.save_model(onnx.load(str(trials[chosen]["path"])), final, external=True)
    else:
        os.replace(trials[chosen]["path"], final)
    info = {"quantization": {**trials[chosen]["info"], **smooth_info},
            "accuracy": trials[chosen]["accuracy"],
            "int8_forms_measured": {f: ({"sec_per_batch8": round(t["sec_per_batch8"], 5),
                                         "centred_cosine_mean": round(t["accuracy"]["centred_cosine_mean"], 5)}
                                        if "path" in t else t) for f, t in trials.items()}}
    return final, info


def _trt(model, m, fp32, tmp, work, calib, options, external, precision) -> Variant:
    spec = INPUT_SPECS[m]
    cache = tmp / "tensorrt.timing-cache"
    if precision == "trt-fp16":
        src = fp32
    else:
        smoothed, _ = _smoothed_fp32(model, m, fp32, work, calib, options)
        src = work / f"{m}.qdq.onnx"
        quantize.to_int8(smoothed, src, "qdq", m, calib.calibration, external=external)
    engine = tmp / f"{m}.{precision}.engine"
    info = trt_build.build_engine(src, engine, m, spec.shape, options.batches,
                                  precision.split("-", 1)[1], timing_cache=cache)
    return _variant(precision, engine, tmp, "tensorrt", {"tensorrt": info})

