"""Golden sets: a few model-ready inputs per encoder with their FP32 reference embeddings, shipped
in the bundle so that a device can check, on its own CPU or GPU, that the variant it picked
computes what the exporter measured.

File (``<modality>.golden.npz``, listed in the manifest with its sha256; format 1):
- ``inputs_q`` uint8 (N, C, ...) and ``inputs_lo`` / ``inputs_step`` float32 (N, C): each input
  stored as 8-bit codes per (sample, leading channel); the input is ``lo + q * step`` computed
  in float64 and rounded to float32 (IEEE, so every machine decodes the same values). Text:
  ``inputs`` int32 token ids.
- ``reference`` float32 (N, D): the FP32 model's embeddings of exactly the decoded inputs.
- ``centre`` float32 (D,): the FP32 mean embedding over the export's held-out inputs. Agreement is
  the cosine after subtracting it (raw cosine is near 1 whenever a tower's embeddings share a
  direction, so it would hide real errors).
- ``format`` int: 1.
Reading checks shapes, dtypes and finiteness, and never unpickles.
"""
from __future__ import annotations

import io
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgebind.errors import EdgeBindError

FORMAT = 1
SUFFIX = ".golden.npz"
MAX_BYTES = 8 << 20  # a golden set is small; refuse to inflate anything bigger


class GoldenSetError(EdgeBindError, ValueError):
    """A golden-set file that is missing, truncated, malformed or does not fit its encoder."""


@dataclass(frozen=True)
class GoldenSet:
    inputs: np.ndarray       # model-ready batch (decoded), dtype of the encoder input
    reference: np.ndarray    # float32 (N, D)
    centre: np.ndarray       # float32 (D,)

    def __post_init__(self) -> None:
        if self.inputs.shape[0] != self.reference.shape[0] or self.reference.ndim != 2:
            raise GoldenSetError(f"golden set: {self.inputs.shape[0]} inputs but reference "
                                 f"shape {self.reference.shape}")
        if self.centre.shape != self.reference.shape[1:]:
            raise GoldenSetError(f"golden set: centre shape {self.centre.shape}, expected "
                                 f"{self.reference.shape[1:]}")
        if not (np.isfinite(self.reference).all() and np.isfinite(self.centre).all()):
            raise GoldenSetError("golden set: reference embeddings contain NaN or inf")

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def agreement(self, candidate: np.ndarray) -> dict[str, float]:
        """Centred cosine of ``candidate`` embeddings to the reference, min and mean."""
        cand = np.asarray(candidate, dtype=np.float64)
        if cand.shape != self.reference.shape:
            raise GoldenSetError(f"golden set: outputs of shape {cand.shape}, reference "
                                 f"{self.reference.shape}")
        if not np.isfinite(cand).all():
            return {"min": float("nan"), "mean": float("nan")}
        c = self.centre.astype(np.float64)
        cos = _rowwise_cosine(self.reference.astype(np.float64) - c, cand - c)
        return {"min": float(cos.min()), "mean": float(cos.mean())}

    # -- file format ----------------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        arrays: dict[str, Any] = {"format": np.int64(FORMAT),
                                  "reference": self.reference.astype(np.float32),
                                  "centre": self.centre.astype(np.float32)}
        if self.inputs.dtype.kind in "iu":
            arrays["inputs"] = self.inputs.astype(np.int32)
        else:
            q, lo, step = encode_inputs(self.inputs)
            arrays.update(inputs_q=q, inputs_lo=lo, inputs_step=step)
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: Path, input_dtype: str = "float32") -> "GoldenSet":
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise GoldenSetError(f"{path}: {size} bytes; a golden set is at most {MAX_BYTES}")
            raw = path.read_bytes()
            with np.load(io.BytesIO(raw), allow_pickle=False) as z:
                _check_inflated_size(z, path)
                a = {k: z[k] for k in z.files}
        except GoldenSetError:
            raise
        except FileNotFoundError as exc:
            raise GoldenSetError(f"{path}: golden set is missing") from exc
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
            raise GoldenSetError(f"{path}: not a readable golden set ({type(exc).__name__}: "
                                 f"{exc})") from exc
        fmt = a.get("format")
        if fmt is None or int(fmt) != FORMAT:
            raise GoldenSetError(f"{path}: golden-set format {fmt!r}, this EdgeBind reads {FORMAT}")
        for k in ("reference", "centre"):
            if k not in a or a[k].dtype != np.float32:
                raise GoldenSetError(f"{path}: {k!r} missing or not float32")
        if "inputs" in a:
            if a["inputs"].dtype.kind not in "iu":
                raise GoldenSetError(f"{path}: 'inputs' must hold integer token ids")
            inputs = a["inputs"].astype(input_dtype)
        else:
            try:
                inputs = decode_inputs(a["inputs_q"], a["inputs_lo"], a["inputs_step"])
            except KeyError as exc:
                raise GoldenSetError(f"{path}: {exc.args[0]!r} missing") from exc
            inputs = inputs.astype(input_dtype, copy=False)
        return cls(inputs, a["reference"], a["centre"])


def _check_inflated_size(z, path: Path) -> None:
    """npz members are zip entries: refuse ones that would inflate beyond MAX_BYTES."""
    total = sum(info.file_size for info in z.zip.infolist())
    if total > MAX_BYTES:
        raise GoldenSetError(f"{path}: members inflate to {total} bytes; a golden set is at most "
                             f"{MAX_BYTES}")


def encode_inputs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float (N, C, ...) -> uint8 codes with a float32 (lo, step) per (sample, channel)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2 or not np.isfinite(x).all():
        raise GoldenSetError(f"golden inputs must be finite and at least 2-D, got {x.shape}")
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    lo = flat.min(-1).astype(np.float32)
    step = ((flat.max(-1) - lo) / 255.0).astype(np.float32)
    safe = np.where(step > 0, step, 1.0).astype(np.float64)
    q = np.rint((flat - lo[..., None]) / safe[..., None]).clip(0, 255).astype(np.uint8)
    return q.reshape(x.shape), lo, step


def decode_inputs(q: np.ndarray, lo: np.ndarray, step: np.ndarray) -> np.ndarray:
    if q.dtype != np.uint8 or q.ndim < 2 or lo.shape != q.shape[:2] or step.shape != q.shape[:2]:
        raise GoldenSetError(f"golden inputs: codes {q.dtype} {q.shape}, lo {lo.shape}, "
                             f"step {step.shape} do not fit together")
    if not (np.isfinite(lo).all() and np.isfinite(step).all()):
        raise GoldenSetError("golden inputs: non-finite lo/step")
    extra = (1,) * (q.ndim - 2)
    x = lo.astype(np.float64).reshape(lo.shape + extra) + \
        q.astype(np.float64) * step.astype(np.float64).reshape(step.shape + extra)
    return x.astype(np.float32)


def quantised_copy(x: np.ndarray) -> np.ndarray:
    """The inputs as they will decode from the file (the reference is computed on these)."""
    if np.asarray(x).dtype.kind in "iu":
        return np.asarray(x)
    return decode_inputs(*encode_inputs(x))


def choose(reference: np.ndarray, worst_first: np.ndarray | None, n: int) -> np.ndarray:
    """Indices of ``n`` golden inputs: the one a quantized variant gets most wrong (when given),
    then farthest-point picks in reference-embedding space, so the set spans the tower's range."""
    ref = np.asarray(reference, dtype=np.float64)
    n = min(n, len(ref))
    u = ref - ref.mean(0)
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
    first = int(np.argmin(worst_first)) if worst_first is not None else 0
    picked = [first]
    dist = 1.0 - u @ u[first]
    for _ in range(n - 1):
        dist[picked] = -np.inf
        nxt = int(np.argmax(dist))
        picked.append(nxt)
        dist = np.minimum(dist, 1.0 - u @ u[nxt])
    return np.array(picked)


def _rowwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.maximum(np.linalg.norm(a, axis=-1), 1e-12)
    nb = np.maximum(np.linalg.norm(b, axis=-1), 1e-12)
    return np.sum(a * b, axis=-1) / (na * nb)


@dataclass(frozen=True)
class CheckResult:
    """One variant run on the golden set on this machine."""

    variant: str
    passed: bool
    agreement_min: float
    agreement_mean: float
    threshold: float
    seconds: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "passed": self.passed,
                "agreement_min": _round(self.agreement_min),
                "agreement_mean": _round(self.agreement_mean),
                "threshold": self.threshold, "seconds": round(self.seconds, 4),
                **({"error": self.error} if self.error else {})}


def _round(x: float) -> float | None:
    return None if x != x else round(x, 6)  # NaN -> null in JSON


def check(encoder, golden: GoldenSet, threshold: float, variant: str) -> CheckResult:
    """Run ``encoder`` on the golden inputs (through ``embed``, so input and output shapes are
    checked too) and compare with the reference."""
    t0 = time.perf_counter()
    try:
        out = encoder.embed(golden.inputs)
        agree = golden.agreement(out)
    except Exception as exc:  # a variant that cannot even run here fails its check
        return CheckResult(variant, False, float("nan"), float("nan"), threshold,
                           time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"[:300])
    ok = agree["min"] >= threshold  # NaN compares False: a non-finite output fails
    return CheckResult(variant, bool(ok), agree["min"], agree["mean"], threshold,
                       time.perf_counter() - t0)
