"""One interface for every inference backend: ``Encoder.embed(batch) -> float32 (N, D)``."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

from edgebind.errors import EdgeBindError
from edgebind.runtime.manifest import TensorSpec

if TYPE_CHECKING:
    from edgebind.preprocess import PreprocessConfig
    from edgebind.runtime.bundle import Bundle

_DTYPES = {"float32": np.float32, "float16": np.float16, "int64": np.int64, "int32": np.int32}


class InputError(EdgeBindError, ValueError):
    """An input batch that does not fit the encoder; the message names the expected input."""


class SupportsEmbedding(Protocol):
    """What a pipeline needs of an embedder (``edgebind.Embedder`` is one, over a bundle or torch
    towers): its towers and space; per sensor modality a preprocessor (a ``Window`` -> a
    model-ready batch of one) and ``embed_batch`` (model-ready batch -> float32 (N, D)).
    ``preprocess`` (the model's preprocessing parameters, which set the default window
    lengths) and ``bundle`` (for the encoders' report) may be None: the pipeline then uses 2 s
    windows and reports no encoders."""

    modalities: tuple[str, ...]
    preprocess: PreprocessConfig | None

    @property
    def space_id(self) -> str | None: ...

    @property
    def bundle(self) -> Bundle | None: ...

    def preprocessor(self, modality: str) -> Callable[[Any], np.ndarray]: ...

    def embed_batch(self, modality: str, batch: np.ndarray, batch_size: int = 8, *,
                    trusted: bool = False) -> np.ndarray: ...


class Encoder(ABC):
    """A model-ready batch in, embeddings out. Subclasses implement ``_run`` for one backend."""

    backend: str = "?"

    def __init__(self, modality: str, precision: str, input_spec: TensorSpec,
                 output_spec: TensorSpec, space_id: str):
        self.modality = modality
        self.precision = precision
        self.input_spec = input_spec
        self.output_spec = output_spec
        self.space_id = space_id

    @property
    def input_shape(self) -> tuple[int | str, ...]:
        """Input shape with the batch dimension first (a str where the size is dynamic)."""
        return self.input_spec.shape

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(_DTYPES[self.input_spec.dtype])

    @property
    def embed_dim(self) -> int:
        return int(self.output_spec.shape[-1])

    def embed(self, batch: np.ndarray, *, trusted: bool = False) -> np.ndarray:
        """Embed a batch shaped like ``input_shape``; returns float32 (N, embed_dim).

        ``trusted``: the batch was made from data already checked finite where it entered
        (a pipeline's windows), so the finiteness scan of the input is skipped; shape and dtype
        are still checked, and the caller checks the embeddings."""
        x = self.check_input(batch, finite=not trusted)
        y = np.asarray(self._run(x), dtype=np.float32)
        if y.shape != (x.shape[0], self.embed_dim):
            raise RuntimeError(f"{self}: backend returned shape {y.shape}, expected "
                               f"({x.shape[0]}, {self.embed_dim})")
        return y

    def check_input(self, batch: np.ndarray, finite: bool = True) -> np.ndarray:
        want = self.input_shape
        expected = f"{self.modality} input of shape ({', '.join(map(str, want))}) and dtype " \
                   f"{self.input_spec.dtype}"
        if not isinstance(batch, np.ndarray):
            raise InputError(f"expected a numpy array ({expected}), got {type(batch).__name__}")
        if batch.dtype != self.input_dtype:
            raise InputError(f"expected {expected}, got dtype {batch.dtype}")
        if batch.ndim != len(want) or any(isinstance(w, int) and w != g
                                          for w, g in zip(want, batch.shape)):
            raise InputError(f"expected {expected}, got shape {tuple(batch.shape)}")
        if batch.shape[0] == 0:
            raise InputError(f"expected {expected}, got an empty batch")
        if finite and batch.dtype.kind == "f" and not np.isfinite(batch).all():
            raise InputError(f"{self.modality} input contains NaN or inf values")
        return np.ascontiguousarray(batch)

    def warmup(self, batch_size: int = 1) -> None:
        """Run once on zeros so the first real call does not pay for lazy initialisation.
        Goes through ``embed``, so an output that does not fit the manifest fails here, at
        load, not on every window later."""
        shape = [batch_size if isinstance(s, str) and i == 0 else (1 if isinstance(s, str) else s)
                 for i, s in enumerate(self.input_shape)]
        x = np.zeros(shape, dtype=self.input_dtype)
        if self.modality == "text" and x.ndim == 3:
            x[:, 1] = 1                        # text hub: (ids, attention mask); id 0, attended
        elif self.modality == "text":
            x[:, 0], x[:, 1] = 49406, 49407   # a valid (empty) prompt: SOT, EOT
        self.embed(x)

    @abstractmethod
    def _run(self, batch: np.ndarray) -> np.ndarray: ...

    def close(self) -> None:
        """Release backend resources (sessions, device memory)."""

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(modality={self.modality!r}, precision={self.precision!r}, "
                f"space={self.space_id})")
