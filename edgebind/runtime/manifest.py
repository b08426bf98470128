"""The bundle manifest (``manifest.json``): format, parsing and validation.

A bundle is a directory holding ``manifest.json`` beside its model files. Format (version 1)::

    {
      "format": "edgebind.bundle", "format_version": 1,
      "space_id": "ebs1-...",             # derived from the weights (edgebind.space)
      "embed_dim": 512,
      "model": {"preset": "small", "config": {...}, "source": "..."},
      "preprocess": {...},                # edgebind.preprocess.PreprocessConfig.to_dict()
      "encoders": {
        "<modality>": {
          "input":  {"name": "vision", "shape": ["batch", 3, 224, 224], "dtype": "float32"},
          "output": {"name": "embedding", "shape": ["batch", 512], "dtype": "float32"},
          "variants": {
            "<variant>": {                # fp32 | fp16 | int8 | int8-<form> | trt-fp16 | trt-int8 | torch
              "file": "vision.fp32.onnx", "format": "onnx" | "tensorrt" | "torch",
              "sha256": "...", "bytes": 123, "external_data": [{"file":..,"sha256":..,"bytes":..}],
              "precision": "int8",        # the family (default: the variant's key)
              "targets": ["x86-vnni", "arm64"],   # CPUs it is made for (absent: any)
              "check": {"threshold": 0.98, "export": {...}},  # golden-set agreement floor
              "quantization": {...}, "parity": {...}, "accuracy": {...}
            }},
          "golden": {"file": "vision.golden.npz", "sha256": "...", "bytes": 123, "n": 4}
        }},
      "edgebind_version": "0.1.0", "created": "2026-11-29T10:00:00Z"
    }

Every error names the manifest, the key and what was expected.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebind.errors import EdgeBindError
from edgebind.modality import MODALITIES

FORMAT = "edgebind.bundle"
FORMAT_VERSION = 1
FILE_FORMATS = ("onnx", "tensorrt", "torch")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BundleError(EdgeBindError, ValueError):
    """A bundle that is missing, malformed, tampered with or incomplete."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int | str, ...]   # a str marks a dynamic dimension ("batch")
    dtype: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class FileRef:
    file: str
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "bytes": self.bytes}


@dataclass(frozen=True)
class Variant:
    """One model file of one modality at one precision (``precision`` is the variant's key)."""

    precision: str
    file: FileRef
    format: str
    external_data: tuple[FileRef, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)  # quantization, parity, accuracy, ...

    def files(self) -> tuple[FileRef, ...]:
        return (self.file, *self.external_data)

    @property
    def family(self) -> str:
        """fp32, fp16, int8, trt-fp16, ...: what ``load_bundle(precision=...)`` asks for."""
        return str(self.info.get("precision", self.precision))

    @property
    def targets(self) -> tuple[str, ...] | None:
        """The CPU targets this variant is made for; None: any."""
        t = self.info.get("targets")
        return tuple(t) if t else None

    @property
    def threshold(self) -> float | None:
        """Golden-set agreement below which this variant is not used on a machine."""
        check = self.info.get("check")
        return float(check["threshold"]) if isinstance(check, dict) and "threshold" in check else None

    def to_dict(self) -> dict[str, Any]:
        d = {**self.file.to_dict(), "format": self.format,
             "external_data": [r.to_dict() for r in self.external_data]}
        d.update(self.info)
        return d


@dataclass(frozen=True)
class EncoderEntry:
    modality: str
    input: TensorSpec
    output: TensorSpec
    variants: dict[str, Variant]
    golden: FileRef | None = None     # inputs + FP32 reference embeddings (runtime.golden)
    golden_n: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = {"input": self.input.to_dict(), "output": self.output.to_dict(),
             "variants": {p: v.to_dict() for p, v in self.variants.items()}}
        if self.golden is not None:
            d["golden"] = {**self.golden.to_dict(), "n": self.golden_n}
        return d

    def files(self) -> tuple[FileRef, ...]:
        refs = [r for v in self.variants.values() for r in v.files()]
        return tuple(refs + ([self.golden] if self.golden is not None else []))


@dataclass(frozen=True)
class Manifest:
    space_id: str
    embed_dim: int
    encoders: dict[str, EncoderEntry]
    model: dict[str, Any] = field(default_factory=dict)
    preprocess: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # edgebind_version, created, calibration

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "space_id": self.space_id,
                "embed_dim": self.embed_dim, "model": self.model, "preprocess": self.preprocess,
                "encoders": {m: e.to_dict() for m, e in self.encoders.items()}, **self.extra}

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")

    @classmethod
    def read(cls, path: Path) -> "Manifest":
        path = Path(path)
        if not path.is_file():
            raise BundleError(f"{path}: no manifest.json here; is this an EdgeBind bundle directory?")
        try:
            raw = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"{path}: not valid JSON ({exc})") from exc
        except RecursionError as exc:
            raise BundleError(f"{path}: JSON nested too deeply to be a manifest") from exc
        return cls.from_dict(raw, where=str(path))

    @classmethod
    def from_dict(cls, raw: Any, where: str = "manifest") -> "Manifest":
        r = _Reader(where)
        r.expect(isinstance(raw, dict), "", "a JSON object", raw)
        r.expect(raw.get("format") == FORMAT, "format", repr(FORMAT), raw.get("format"))
        version = raw.get("format_version")
        r.expect(version == FORMAT_VERSION, "format_version",
                 f"{FORMAT_VERSION} (this EdgeBind reads version {FORMAT_VERSION} bundles)", version)
        space_id = r.get(raw, "space_id", str)
        r.expect(bool(space_id), "space_id", "a non-empty string", space_id)
        embed_dim = r.get(raw, "embed_dim", int)
        r.expect(embed_dim > 0, "embed_dim", "a positive integer", embed_dim)
        encoders_raw = r.get(raw, "encoders", dict)
        r.expect(bool(encoders_raw), "encoders", "at least one modality", encoders_raw)
        encoders = {}
        for modality, e in encoders_raw.items():
            key = f"encoders.{modality}"
            r.expect(modality in MODALITIES, key, f"a modality name ({', '.join(MODALITIES)})", modality)
            r.expect(isinstance(e, dict), key, "an object", e)
            inp = r.tensor(e, f"{key}.input")
            out = r.tensor(e, f"{key}.output")
            r.expect(bool(out.shape) and out.shape[-1] == embed_dim, f"{key}.output.shape",
                     f"a shape whose last dimension is {embed_dim} (embed_dim)", list(out.shape))
            variants_raw = r.get(e, "variants", dict, key)
            r.expect(bool(variants_raw), f"{key}.variants", "at least one precision", variants_raw)
            variants = {p: r.variant(p, v, f"{key}.variants.{p}") for p, v in variants_raw.items()}
            golden, golden_n = None, 0
            if e.get("golden") is not None:
                g = r.get(e, "golden", dict, key)
                golden = r.fileref(g, f"{key}.golden")
                golden_n = g.get("n", 0)
                r.expect(isinstance(golden_n, int) and not isinstance(golden_n, bool)
                         and golden_n >= 0, f"{key}.golden.n", "a count", golden_n)
            encoders[modality] = EncoderEntry(modality, inp, out, variants, golden, golden_n)
        for k in ("model", "preprocess"):
            r.expect(isinstance(raw.get(k) or {}, dict), k, "an object", raw.get(k))
        known = {"format", "format_version", "space_id", "embed_dim", "encoders", "model", "preprocess"}
        return cls(space_id=space_id, embed_dim=embed_dim, encoders=encoders,
                   model=dict(raw.get("model") or {}), preprocess=dict(raw.get("preprocess") or {}),
                   extra={k: v for k, v in raw.items() if k not in known})


class _Reader:
    """Validation helpers whose errors say where, which key, what was expected and what was found."""

    def __init__(self, where: str):
        self.where = where

    def expect(self, ok: bool, key: str, expected: str, found: Any) -> None:
        if not ok:
            shown = json.dumps(found)[:80] if _jsonable(found) else repr(found)[:80]
            raise BundleError(f"{self.where}: key {key or '<root>'!r}: expected {expected}, found {shown}")

    def get(self, obj: dict, key: str, typ: type, prefix: str = "") -> Any:
        full = f"{prefix}.{key}" if prefix else key
        self.expect(key in obj, full, f"a {typ.__name__} (key is missing)", None)
        val = obj[key]
        ok = isinstance(val, typ) and not (typ is int and isinstance(val, bool))
        self.expect(ok, full, f"a {typ.__name__}", val)
        return val

    def tensor(self, obj: dict, key: str) -> TensorSpec:
        parent, _, name = key.rpartition(".")
        t = self.get(obj, name, dict, parent)
        shape = self.get(t, "shape", list, key)
        self.expect(all(isinstance(s, (int, str)) and not isinstance(s, bool) for s in shape),
                    f"{key}.shape", "a list of ints and dimension names", shape)
        return TensorSpec(self.get(t, "name", str, key), tuple(shape), self.get(t, "dtype", str, key))

    def fileref(self, obj: dict, key: str) -> FileRef:
        f = self.get(obj, "file", str, key)
        self.expect(f and "/" not in f and "\\" not in f and f not in (".", ".."), f"{key}.file",
                    "a plain file name inside the bundle directory", f)
        sha = self.get(obj, "sha256", str, key)
        self.expect(bool(_SHA256.match(sha)), f"{key}.sha256", "64 lowercase hex digits", sha)
        size = self.get(obj, "bytes", int, key)
        self.expect(size >= 0, f"{key}.bytes", "a size in bytes", size)
        return FileRef(f, sha, size)

    def variant(self, precision: str, v: Any, key: str) -> Variant:
        self.expect(isinstance(v, dict), key, "an object", v)
        fmt = self.get(v, "format", str, key)
        self.expect(fmt in FILE_FORMATS, f"{key}.format", f"one of {FILE_FORMATS}", fmt)
        ext = v.get("external_data") or []
        self.expect(isinstance(ext, list), f"{key}.external_data", "a list", ext)
        refs = tuple(self.fileref(x, f"{key}.external_data[{i}]") if isinstance(x, dict)
                     else self.fileref({}, f"{key}.external_data[{i}]") for i, x in enumerate(ext))
        fam = v.get("precision", precision)
        self.expect(isinstance(fam, str) and bool(fam), f"{key}.precision", "a precision name", fam)
        targets = v.get("targets")
        self.expect(targets is None or (isinstance(targets, list) and bool(targets) and
                                        all(isinstance(t, str) and t for t in targets)),
                    f"{key}.targets", "a non-empty list of CPU target names", targets)
        check = v.get("check")
        if check is not None:
            self.expect(isinstance(check, dict), f"{key}.check", "an object", check)
            th = check.get("threshold")
            self.expect(isinstance(th, (int, float)) and not isinstance(th, bool)
                        and -1.0 <= th <= 1.0, f"{key}.check.threshold",
                        "a cosine between -1 and 1", th)
        known = {"file", "sha256", "bytes", "format", "external_data"}
        return Variant(precision, self.fileref(v, key), fmt, refs,
                       {k: val for k, val in v.items() if k not in known})


def _jsonable(x: Any) -> bool:
    try:
        json.dumps(x)
        return True
    except (TypeError, ValueError):
        return False
