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
from edgebind.export import calibration_data, golden as golden_export, int8, onnx_export, quantize
from edgebind.export import text_hub
from edgebind.runtime import accuracy, cpu as cpu_info
from edgebind.runtime.cpu import TARGETS
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
    targets: list[str] = field(default_factory=lambda: ["auto"])  # CPU targets of INT8 variants
    smoothquant: float | None = 0.5  # alpha, tried per INT8 form and kept where it helps; None: off
    golden: bool = True              # a golden set per encoder, thresholds per variant
    quantize_stems: bool = False     # INT8 also for MatMuls fed by the raw input (see quantize)
    int8_weights: tuple[str, ...] | None = None  # only these weight forms (e.g. ("u8",): one
                                                 # file exact on every target); None: per target
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
        resolve_targets(self.targets)
        bad = [w for w in self.int8_weights or () if w not in quantize.WEIGHT_FORMS]
        if bad:
            raise ValueError(f"int8 weights {bad}: expected some of {', '.join(quantize.WEIGHT_FORMS)}")
        if any(p.startswith("trt-") for p in self.precisions) and not trt_build.available():
            raise ValueError("trt-* precisions need TensorRT and an NVIDIA GPU (pip install "
                             "'edgebind[tensorrt]' on the device); export the ONNX precisions here "
                             "and build engines on the device")


def resolve_targets(targets: list[str]) -> list[str]:
    """``auto`` = this machine's CPU target, ``all`` = every target; names checked."""
    out: list[str] = []
    for t in targets:
        if t == "all":
            out += list(TARGETS)
        elif t == "auto":
            here = cpu_info.detect().target
            if here is None:
                raise ValueError("--target auto: this CPU has no INT8 target "
                                 f"({cpu_info.detect().describe()}); name one of {', '.join(TARGETS)}")
            out.append(here)
        else:
            out.append(cpu_info.check_target(t, "--target"))
    if not out:
        raise ValueError(f"choose at least one INT8 target: auto, all or {', '.join(TARGETS)}")
    return list(dict.fromkeys(out))


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
        hub = text_hub.manifest_extra(model, tmp) if "text" in encoders and \
            text_hub.is_text_hub(model, "text") else {}
        manifest = Manifest(
            space_id=space_id, embed_dim=int(encoders[options.modalities[0]].output.shape[-1]),
            encoders=encoders, model=model_info, preprocess=PreprocessConfig().to_dict(),
            extra={"edgebind_version": __version__,
                   "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "export": {"opset": options.opset, "batches": options.batches,
                              "calibration": options.calibration or "generated",
                              "smoothquant_alpha": options.smoothquant,
                              "int8_targets": resolve_targets(options.targets)
                              if "int8" in options.precisions else [],
                              "cpu": cpu_info.detect().to_dict()}, **hub})
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
    if text_hub.is_text_hub(model, m):   # a pretrained sentence encoder as the text tower
        return text_hub.export_text_hub(model, tmp, options, steps)
    spec = INPUT_SPECS[m]
    calib = calibration_data.resolve(options.calibration, m, seed=options.seed)
    held = calib.held_out
    ref = _torch_embed(model, m, held)
    dim = int(ref.shape[-1])
    variants: dict[str, Variant] = {}
    outputs: dict[str, np.ndarray] = {}   # held-out embeddings per variant (golden-set choice)
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
                outputs[p] = got
            elif p == "int8":
                for key, path, info, got in _int8_cpu(model, m, fp32, tmp, work, calib, ref,
                                                     options, external):
                    variants[key] = _variant(key, path, tmp, "onnx", info)
                    outputs[key] = got
            elif p.startswith("trt-"):
                variants[p] = _trt(model, m, fp32, tmp, work, calib, options, external, p)
            elif p == "torch":
                import torch
                path = tmp / f"{m}.torch.pt"
                prefix = tuple(f"modality_{k}.{m}." for k in ("preprocessors", "trunks", "heads",
                                                             "postprocessors"))
                towers = getattr(model, "base", model)   # a HubModel keeps them in .base
                torch.save({k: v for k, v in towers.state_dict().items() if k.startswith(prefix)},
                           path)
                variants[p] = _variant(p, path, tmp, "torch", {"parity": {"max_abs_diff": 0.0}})
    in_spec = TensorSpec(m, ("batch", *_input_dims(m, spec)), spec.dtype)
    golden_ref = None
    if options.golden:
        with steps.step(f"{m}: golden set"):
            golden_ref, n = _golden(model, m, tmp, work, held, ref, outputs, variants, options)
    if "fp32" not in options.precisions:
        fp32.unlink()
        for f in tmp.glob(f"{m}.fp32.onnx.data"):
            f.unlink()
    shutil.rmtree(work, ignore_errors=True)
    for v in variants.values():
        v.info.update({k: val for k, val in base_info.items() if k not in v.info})
    return EncoderEntry(m, in_spec, TensorSpec(onnx_export.OUTPUT_NAME, ("batch", dim), "float32"),
                        variants, golden_ref, n if golden_ref else 0)


def _input_dims(m: str, spec) -> tuple:
    """Audio takes any number of clips (``clips``): the pipeline sends only distinct ones."""
    if m in onnx_export.DYNAMIC_CLIPS:
        return ("clips", *spec.shape[1:])
    return tuple(spec.shape)


def _golden(model, m, tmp, work, held, ref, outputs, variants, options):
    """Write ``<m>.golden.npz``, measure every variant on it here, record its threshold."""
    worst = None
    if outputs:
        per = {k: golden_export.per_input_cosine(ref, got) for k, got in outputs.items()}
        worst = min(per.values(), key=lambda c: float(c.mean()))
    golden = golden_export.build(m, held, ref, worst, lambda x: _torch_embed(model, m, x),
                                 dynamic_clips=m in onnx_export.DYNAMIC_CLIPS)
    path = golden_export.write(golden, tmp, m)
    here = cpu_info.detect()
    for key, v in variants.items():
        if v.format == "tensorrt":
            continue  # engines are checked where they are built and run: on the device
        if v.format == "torch":
            agree = {"min": 1.0, "mean": 1.0}
        else:
            target_file = tmp / v.file.file
            if v.family == "int8" and v.info.get("quantization", {}).get("weight_form") not in \
                    quantize.EXACT_ON.get(here.target or "", ()):
                target_file = quantize.exact_copy(target_file, work / f"{key}.golden-exact.onnx")
            got, _ = _ort_embed(target_file, golden.inputs, options.threads, batch=len(golden))
            agree = golden.agreement(got)
        v.info["check"] = {"threshold": golden_export.threshold(v.family, agree["min"]),
                           "export": {"agreement_min": round(agree["min"], 6),
                                      "agreement_mean": round(agree["mean"], 6),
                                      "cpu": here.describe()}}
    return _ref(path, tmp), len(golden)


def _smoothed_fp32(model, m: str, fp32: Path, work: Path, calib,
                   options: ExportOptions) -> tuple[Path, dict]:
    """The tower rescaled by SmoothQuant (same function, flatter activations), as ONNX."""
    from edgebind.export.smoothquant import smooth_tower
    smoothed, stats = smooth_tower(model, m, calib.calibration, alpha=options.smoothquant)
    path = work / f"{m}.smooth.onnx"
    onnx_export.export_onnx(smoothed, m, path, opset=options.opset, example=calib.held_out[:2])
    return path, stats


def _int8_cpu(model, m, fp32, tmp, work, calib, ref, options, external):
    """INT8 variants for the requested CPU targets: [(key, path, manifest info, held-out embs)]."""
    targets = resolve_targets(options.targets)
    here = cpu_info.detect().target
    sources, sq_stats = {False: fp32}, None
    if options.smoothquant is not None:
        sources[True], sq_stats = _smoothed_fp32(model, m, fp32, work, calib, options)
    scheme = options.int8_form
    schemes = {}
    if scheme == "auto":
        scheme, schemes = _fastest_scheme(m, sources[False], calib, ref, options, external, work,
                                          here or targets[0])
    embed = lambda path, x: _ort_embed(path, x, options.threads)  # noqa: E731
    planned = int8.plan(targets, sources, m, scheme, calib, ref, options, work, here, external,
                        embed)
    out = []
    for v in planned:
        _check_threshold(options, m, v.key, v.trial.accuracy)
        path = int8.finalize(v, tmp / f"{m}.{v.key}.onnx", external)
        info = int8.manifest_info(v, here, sq_stats)
        if schemes:
            info["int8_schemes_measured"] = schemes
        out.append((v.key, path, info, v.trial.embeddings))
    return out


def _fastest_scheme(m, src, calib, ref, options, external, work, target):
    """``--int8-form auto``: the fastest scheme (dynamic, qdq, qoperator) that meets
    --min-cosine, measured with the weight encoding of this machine's own target."""
    weights = quantize.TARGET_WEIGHTS[target][0]
    measured, best = {}, None
    for form in quantize.INT8_FORMS:
        path = work / f"{m}.scheme-{form}.onnx"
        try:
            quantize.to_int8(src, path, form, m, calib.calibration, external=external,
                             weights=weights, quantize_stems=options.quantize_stems)
            got, sec = _ort_embed(path, calib.held_out, options.threads)
        except Exception as exc:
            measured[form] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        cos = accuracy.compare(ref, got)["centred_cosine_mean"]
        measured[form] = {"sec_per_batch8": round(sec, 5), "centred_cosine_mean": round(cos, 5)}
        ok = options.min_cosine is None or cos >= options.min_cosine
        if ok and (best is None or sec < measured[best]["sec_per_batch8"]):
            best = form
    return best or "dynamic", measured


def _trt(model, m, fp32, tmp, work, calib, options, external, precision) -> Variant:
    spec = INPUT_SPECS[m]
    cache = tmp / "tensorrt.timing-cache"
    if precision == "trt-fp16":
        src = fp32
    else:
        smoothed = fp32
        if options.smoothquant is not None:
            smoothed, _ = _smoothed_fp32(model, m, fp32, work, calib, options)
        src = work / f"{m}.qdq.onnx"
        quantize.to_int8(smoothed, src, "qdq", m, calib.calibration, external=external)
    engine = tmp / f"{m}.{precision}.engine"
    min_shape = (1, *spec.shape[1:]) if m in onnx_export.DYNAMIC_CLIPS else spec.shape
    info = trt_build.build_engine(src, engine, m, spec.shape, options.batches,
                                  precision.split("-", 1)[1], timing_cache=cache,
                                  min_sample_shape=min_shape)
    return _variant(precision, engine, tmp, "tensorrt", {"tensorrt": info})

