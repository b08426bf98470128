"""A text hub tower (``edgebind.models.text_hubs``) as a bundle's ``text`` encoder.

``export_bundle`` calls this for the ``text`` modality of a model whose text side is a hub
(``with_text_hub``). The encoder takes int64 (batch, 2, tokens): token ids and the attention
mask, ``tokens`` dynamic up to the hub's limit (256), and gives the pooled, normalised (and
projected, where the model has a projection) embedding. Variants:
- ``fp32``, ``fp16`` as for every tower;
- ``int8`` per CPU target: word-embedding table uint8 per row, MatMuls dynamic INT8 with the
  target's most accurate weight encoding (``export.int8``; speed matters little, the text tower
  runs when anchors are built, not per window), SmoothQuant kept where it measurably helps.
Calibration and held-out inputs are built-in prompts through the anchor templates (texts like
those ``edgebind anchors build`` embeds), tokenized by the hub's own tokenizer. The manifest
gets the ``text_tower`` key and the vocabulary file ``text.vocab.txt``.
"""
from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np

from edgebind.export import calibration_data, int8, onnx_export, quantize
from edgebind.preprocess.text_spec import TEXT_TOWER_KEY
from edgebind.runtime import accuracy, cpu as cpu_info
from edgebind.runtime.bundle import sha256_file
from edgebind.runtime.manifest import EncoderEntry, TensorSpec

VOCAB_FILE = "text.vocab.txt"
INPUT_SHAPE = ("batch", 2, "tokens")
INPUT_AXES = {0: "batch", 2: "tokens"}
HUB_PRECISIONS = ("fp32", "fp16", "int8")

# What robots are asked to notice, plus odd inputs; none of them is a fixture sentence.
PROMPTS = (
    "a window shattering", "a cup falling and breaking", "a large dog growling",
    "a puppy yapping", "a fire alarm going off", "a carbon monoxide detector chirping",
    "someone walking down the corridor", "running footsteps on stairs", "a cupboard door banging",
    "the front door closing hard", "an elderly person collapsing", "a worker tripping over a cable",
    "a conveyor belt rattling", "a compressor humming", "a pump starting up", "a fan whirring",
    "an empty warehouse at night", "a calm office", "a forklift reversing with its beeper on",
    "rain drumming on a metal roof", "a baby crying in the next room", "a phone ringing twice",
    "water leaking from a pipe", "a motor stalling under load", "sparks from a grinder",
    "Someone SHOUTING for help!!", "a 2.5 kg box dropped from 1 m", "???", "...", "--",
    "Überwachungskamera erkennt Bewegung", "un perro ladrando", "кошка мяукает",
    "猫が鳴いている", "🔥 fire in the kitchen 🔥", "robot_arm:joint3 over-torque (E-42)",
    "a long shift in a noisy factory where presses thump, belts squeal, forklifts beep and people "
    "shout over the machines while an alarm sounds somewhere far away in the building",
)
TEMPLATES = ("{}", "a photo of {}.", "the sound of {}.", "a recording of {}.",
             "a depth map of {}.", "a thermal image of {}.", "IMU motion of {}.")


def is_text_hub(model, modality: str) -> bool:
    if modality != "text":
        return False
    from edgebind.models.text_hubs import TextHubTower
    return isinstance(getattr(model, "text", None), TextHubTower)


def calibration_set(tokenizer, seed: int = 0, held_out_fraction: float = 0.25,
                    batch: int = 16) -> calibration_data.CalibrationSet:
    """Built-in prompts x templates, shuffled by ``seed``; each batch padded to its longest."""
    texts = [t.replace("{}", p) for p in PROMPTS for t in TEMPLATES]
    random.Random(seed).shuffle(texts)
    n_held = int(round(len(texts) * held_out_fraction))
    held = tokenizer.model_input(tokenizer.encode(texts[:n_held]))
    calib = [tokenizer.model_input(tokenizer.encode(texts[i:i + batch]))
             for i in range(n_held, len(texts), batch)]
    return calibration_data.CalibrationSet(f"builtin-prompts:{len(PROMPTS)}x{len(TEMPLATES)}",
                                           calib, held)


def _as_model(tower):
    """A bare tower behind the ``model({"text": x})["text"]`` interface the exporter uses."""
    import torch

    class TowerModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.text = tower

        def forward(self, inputs):
            return {"text": self.text(inputs["text"])}

    return TowerModel().eval()


def export_text_hub(model, tmp: Path, options, steps) -> EncoderEntry:
    """Write the hub's variants and golden set into ``tmp``; returns its manifest entry."""
    from edgebind.export import writer as W

    bad = [p for p in options.precisions if p not in HUB_PRECISIONS]
    if bad:
        raise W.ExportError(f"text hub {model.text.hub.name}: precision {', '.join(bad)} is not "
                            f"made for text hubs (use {', '.join(HUB_PRECISIONS)}); the ONNX "
                            "variants also run on ONNX Runtime's TensorRT provider")
    calib = calibration_set(model.text.tokenizer(), seed=options.seed)
    held = calib.held_out
    ref = W._torch_embed(model, "text", held)
    work = tmp / ".work"
    work.mkdir(exist_ok=True)
    fp32 = tmp / "text.fp32.onnx"
    with steps.step("text hub: torch -> ONNX fp32"):
        onnx_export.export_onnx(model, "text", fp32, opset=options.opset, example=held[:2],
                                input_axes=INPUT_AXES)
        parity = accuracy.compare(ref, W._ort_embed(fp32, held, options.threads)[0])
    variants, outputs = {}, {}
    for p in options.precisions:
        with steps.step(f"text hub: {p}"):
            if p == "fp32":
                variants[p] = W._variant(p, fp32, tmp, "onnx", {"parity": parity})
            elif p == "fp16":
                path = quantize.to_fp16(fp32, tmp / "text.fp16.onnx")
                got, _ = W._ort_embed(path, held, options.threads)
                report = accuracy.compare(ref, got, options.anchors)
                W._check_threshold(options, "text", p, report)
                variants[p], outputs[p] = W._variant(p, path, tmp, "onnx", {"accuracy": report}), got
            else:
                for key, path, info, got in _int8(model, tmp, work, calib, ref, options):
                    variants[key], outputs[key] = W._variant(key, path, tmp, "onnx", info), got
    golden_ref, n = None, 0
    if options.golden:
        with steps.step("text hub: golden set"):
            golden_ref, n = W._golden(model, "text", tmp, work, held, ref, outputs, variants,
                                      options)
    if "fp32" not in options.precisions:
        fp32.unlink()
    shutil.rmtree(work, ignore_errors=True)
    for v in variants.values():
        v.info.setdefault("parity_vs_torch", parity)
        v.info.setdefault("calibration_source", calib.source)
    out = TensorSpec(onnx_export.OUTPUT_NAME, ("batch", model.text.embed_dim), "float32")
    return EncoderEntry("text", TensorSpec("text", INPUT_SHAPE, "int64"), out, variants,
                        golden_ref, n)


def _onnx(tower, path: Path, example: np.ndarray, opset: int) -> Path:
    return onnx_export.export_onnx(_as_model(tower), "text", path, opset=opset,
                                   example=example, input_axes=INPUT_AXES)


def _int8(model, tmp: Path, work: Path, calib, ref, options):
    """INT8 variants per CPU target: [(key, path, manifest info, held-out embeddings)]."""
    from edgebind.export import writer as W
    from edgebind.export.text_hub_quant import smooth_text_tower, with_row_quantized_table

    example = calib.held_out[:2]
    tower = with_row_quantized_table(model.text)
    sources, sq_stats = {False: _onnx(tower, work / "text.rowq.onnx", example, options.opset)}, None
    if options.smoothquant is not None:
        smoothed, sq_stats = smooth_text_tower(tower, calib.calibration)
        sources[True] = _onnx(smoothed, work / "text.rowq-sq.onnx", example, options.opset)
    scheme = "dynamic" if options.int8_form == "auto" else options.int8_form
    here = cpu_info.detect().target
    embed = lambda path, x: W._ort_embed(path, x, options.threads)  # noqa: E731
    # slack 0: the text tower runs when anchors are built, never per window, so a faster
    # weight encoding buys nothing worth any accuracy.
    planned = int8.plan(W.resolve_targets(options.targets), sources, "text", scheme, calib, ref,
                        options, work, here, False, embed, slack=0.0)
    out = []
    for v in planned:
        W._check_threshold(options, "text", v.key, v.trial.accuracy)
        path = int8.finalize(v, tmp / f"text.{v.key}.onnx", False)
        info = int8.manifest_info(v, here, sq_stats,
                                  embedding_table="uint8 per row (scale, offset)")
        out.append((v.key, path, info, v.trial.embeddings))
    return out


def manifest_extra(model, tmp: Path) -> dict:
    """The ``text_tower`` manifest key, with the hub's vocabulary copied into the bundle."""
    tower = model.text
    dest = tmp / VOCAB_FILE
    shutil.copyfile(tower.vocab_path(), dest)
    entry = tower.manifest_entry()
    spec = tower.hub.tokenizer.with_vocab(VOCAB_FILE, sha256_file(dest), dest.stat().st_size)
    entry["tokenizer"] = spec.to_dict()
    return {TEXT_TOWER_KEY: entry}
