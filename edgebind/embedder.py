"""``Embedder``: raw inputs of any modality in, numpy embeddings out.

Two engines behind one API: the torch towers of ``edgebind.models`` (workstation; a preset or a
checkpoint such as ``imagebind_huge.pth``) or an exported bundle (device; no torch). Either way
preprocessing is ``edgebind.preprocess`` with the parameters the bundle/model carries.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from edgebind import preprocess as pp
from edgebind.modality import MODALITIES
from edgebind.preprocess import PreprocessConfig
from edgebind.preprocess.audio import window_features
from edgebind.preprocess.text_spec import text_tokenizer_for_bundle
from edgebind.preprocess.text_tokens import ClipTextTokenizer, TokenizedText


@dataclass(frozen=True)
class Audio:
    """A waveform with its rate; ``layout`` as in ``edgebind.preprocess.audio``."""

    waveform: np.ndarray
    rate: int
    layout: str = "channels_first"


@dataclass(frozen=True)
class Imu:
    """N×6 rows (ax ay az m/s², gx gy gz rad/s) with int64 nanosecond timestamps."""

    samples: np.ndarray
    timestamps_ns: np.ndarray


def _as_list(x: Any) -> list:
    if isinstance(x, (list, tuple)) and not (isinstance(x, tuple) and len(x) == 2
                                             and isinstance(x[1], (int, np.integer))):
        return list(x)
    return [x]


class Embedder:
    """Embed raw inputs. ``Embedder("tiny")``, ``Embedder("imagebind_huge.pth")`` or
    ``Embedder.from_bundle("bundles/small")``.

    >>> e = Embedder("tiny")                                   # doctest: +SKIP
    >>> out = e.embed(text=["a dog barking"], vision=["dog.jpg"])  # doctest: +SKIP
    >>> out["text"].shape                                      # doctest: +SKIP
    (1, 128)
    """

    def __init__(self, model: Any = "tiny", *, modalities: Sequence[str] | None = None,
                 preset: str | None = None, preprocess: PreprocessConfig | None = None,
                 seed: int = 0, threads: int | None = None):
        import torch

        from edgebind import models
        if threads:
            torch.set_num_threads(threads)
        if isinstance(model, (models.ImageBindModel, models.HubModel)):
            self._model = model.eval()
        elif isinstance(model, str) and model in models.PRESETS:
            torch.manual_seed(seed)
            self._model = models.build(model, modalities)
        else:
            self._model = models.load_checkpoint(model, config=preset, modalities=modalities)
        self._torch = torch
        self._bundle = None
        self.fold_audio_clips = True   # torch towers average any number of clips
        self.preprocess = preprocess or PreprocessConfig()
        self.modalities: tuple[str, ...] = tuple(self._model.modalities)
        self.embed_dim = int(self._model.embed_dim)
        self.text_tokenizer = None
        if "text" in self.modalities:
            self.text_tokenizer = (self._model.text_tokenizer()
                                   if isinstance(self._model, models.HubModel)
                                   else ClipTextTokenizer(self.preprocess.text.context_length))

    @classmethod
    def from_bundle(cls, path: Any, *, text: bool = True, **load_kwargs: Any) -> "Embedder":
        """An Embedder over an exported bundle (ONNX Runtime / TensorRT; torch not needed).
        ``text=False``: every tower but the text tower, for pipelines, which embed sensor
        windows only (anchors arrive embedded): the text hub is most of a bundle's memory and
        of its load-time check."""
        from edgebind.runtime import load_bundle
        if not text:
            load_kwargs["skip"] = ("text", *load_kwargs.get("skip", ()))
        self = cls.__new__(cls)
        self._model = None
        self._torch = None
        self._bundle = load_bundle(path, **load_kwargs)
        audio = self._bundle.encoders.get("audio")
        # Bundles exported before the clip axis was dynamic take exactly 3 clips.
        self.fold_audio_clips = audio is not None and isinstance(audio.input_shape[1], str)
        self.preprocess = PreprocessConfig.from_dict(self._bundle.manifest.preprocess)
        self.modalities = tuple(self._bundle.encoders)
        self.embed_dim = self._bundle.embed_dim
        self.text_tokenizer = None
        if "text" in self.modalities:   # the manifest's text tower (or CLIP BPE), checked
            try:
                self.text_tokenizer = text_tokenizer_for_bundle(path, self._bundle.manifest)
            except Exception:
                self._bundle.close()
                raise
        return self

    @property
    def training(self) -> dict[str, Any]:
        """What the bundle's manifest records about its training (e.g. the simulated world's
        ``difficulty``); empty for torch models and bundles without that record."""
        if self._bundle is None:
            return {}
        return dict(self._bundle.manifest.extra.get("training", {}))

    @property
    def space_id(self) -> str | None:
        """The embedding-space id (bundles carry one; torch models get one at export)."""
        return self._bundle.space_id if self._bundle is not None else None

    @property
    def bundle(self):
        """The loaded ``edgebind.runtime.Bundle`` (None for torch towers): its ``choices`` say
        which variant runs per modality and how its golden-set check went."""
        return self._bundle

    # -- raw input -> model-ready batch ------------------------------------------------------
    def prepare(self, modality: str, items: Any) -> np.ndarray:
        """Preprocess raw ``items`` of one modality into a model-ready batch.

        Audio: where the tower takes any clip count (bundles exported by this version, torch
        towers), a waveform no longer than one clip becomes one clip instead of the reference's
        three identical ones (same embedding within float rounding, a third of the work); set
        ``fold_audio_clips = False`` for the reference's exact input."""
        cfg = self.preprocess
        if modality == "text":
            return self.tokenize_text(items)[1]
        if modality == "vision":
            return pp.images(_as_list(items), params=cfg.vision)
        out = []
        for item in _as_list(items):
            if modality == "audio":
                a = item if isinstance(item, Audio) else Audio(*item)
                out.append(pp.audio(a.waveform, a.rate, layout=a.layout, params=cfg.audio,
                                    fold_identical_clips=self.fold_audio_clips))
            elif modality == "depth":
                out.append(pp.depth(item, params=cfg.depth))
            elif modality == "thermal":
                out.append(pp.thermal(item, params=cfg.thermal))
            elif modality == "imu":
                s = item if isinstance(item, Imu) else Imu(*item)
                out.append(pp.imu(s.samples, s.timestamps_ns, params=cfg.imu))
            else:
                raise ValueError(f"unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")
        return np.stack(_same_clip_count(out) if modality == "audio" else out)

    def preprocessor(self, modality: str) -> Callable[[Any], np.ndarray]:
        """The preprocessing of one sensor modality as a function of a ``Window``
        (``edgebind.sensors.window.Window``) -> a model-ready batch of one: the model and
        its transform handed out as a pair, so pipelines need not know the input classes."""
        if modality not in self.modalities or modality == "text":
            raise ValueError(f"this embedder has no {modality!r} sensor tower; it has "
                             f"{', '.join(self.modalities)}")
        cfg, fold = self.preprocess, self.fold_audio_clips
        return lambda window: window_input(modality, window, cfg, fold_audio_clips=fold)

    def tokenize_text(self, texts: Any) -> tuple[TokenizedText, np.ndarray]:
        """Texts -> (tokens with a note per text: empty, truncated, unknown pieces; the text
        tower's model-ready batch), with the tokenizer of this model's text tower."""
        if self.text_tokenizer is None:
            raise ValueError(f"this embedder has no text tower; it has {', '.join(self.modalities)}")
        tokens = self.text_tokenizer.encode(texts)
        return tokens, self.text_tokenizer.model_input(tokens)

    # -- model-ready batch -> embeddings -----------------------------------------------------
    def embed_batch(self, modality: str, batch: np.ndarray, batch_size: int = 8, *,
                    trusted: bool = False) -> np.ndarray:
        """A model-ready batch -> float32 (N, D), ``batch_size`` rows per model call.
        ``trusted``: made from windows checked finite where their samples entered (see
        ``Encoder.embed``); the input is not scanned again."""
        if modality not in self.modalities:
            raise ValueError(f"this embedder has no {modality!r} tower; it has {', '.join(self.modalities)}")
        if self._bundle is not None:
            encoder = self._bundle.encoders[modality]
            run = lambda chunk: encoder.embed(chunk, trusted=trusted)  # noqa: E731
        else:   # the torch towers run as the bundle's torch backend runs them
            from edgebind.runtime.backends.torch import run_tower
            run = lambda chunk: run_tower(self._torch, self._model, modality, chunk)  # noqa: E731
        return np.concatenate([run(batch[i:i + batch_size])
                               for i in range(0, len(batch), batch_size)])

    def embed(self, batch_size: int = 8, **inputs: Any) -> dict[str, np.ndarray]:
        """``embed(text=[...], vision=[paths/arrays], audio=[(wave, rate)], depth=[metres],
        thermal=[kelvin], imu=[(samples, timestamps_ns)])`` -> {modality: float32 (N, D)}.

        Embeddings keep ImageBind's per-modality scale (only vision is unit norm); compare
        them with :func:`cosine`.
        """
        unknown = [m for m in inputs if m not in MODALITIES]
        if unknown:
            raise ValueError(f"unknown modality {unknown}; expected some of {', '.join(MODALITIES)}")
        return {m: self.embed_batch(m, self.prepare(m, items), batch_size)
                for m, items in inputs.items() if items is not None}


def window_input(modality: str, window: Any, cfg: PreprocessConfig, *,
                 fold_audio_clips: bool = True) -> np.ndarray:
    """One sensor ``Window`` -> a model-ready batch of one, straight from its data.

    A Window's data was checked where its samples entered the assembler, so this skips the
    per-sample checks the raw-input path (:meth:`Embedder.prepare`) makes: audio goes to the
    preprocessing in the (channels, frames) float64 layout the window was built in, at the
    stream's own rate. ``fold_audio_clips`` as :meth:`Embedder.prepare` says."""
    x = window.data
    if modality == "vision":
        return pp.images([x], params=cfg.vision)
    if modality == "audio":
        out = window_features(x.T, window.rate_hz, cfg.audio, fold_identical=fold_audio_clips)
    elif modality == "imu":
        out = pp.imu(x, window.timestamps_ns, params=cfg.imu)
    elif modality == "depth":
        out = pp.depth(x, params=cfg.depth)
    elif modality == "thermal":
        out = pp.thermal(x, params=cfg.thermal)
    else:
        raise ValueError(f"no sensor windows of modality {modality!r}; expected one of "
                         "vision, audio, depth, thermal, imu")
    return out[None]


def _same_clip_count(clips: list[np.ndarray]) -> list[np.ndarray]:
    """Folded (1-clip) and full inputs in one batch: repeat the folded clip, which the tower's
    mean over clips leaves unchanged."""
    most = max(c.shape[0] for c in clips)
    return [np.repeat(c, most, axis=0) if c.shape[0] == 1 else c for c in clips]


def stack_items(items: list[np.ndarray]) -> np.ndarray:
    """Prepared single-item batches (1, ...) into one batch; audio items whose clip counts
    differ (one folded window among full ones) are brought to the same count first."""
    if len({x.shape for x in items}) > 1 and all(x.ndim == 5 for x in items):
        return np.concatenate([x[None] for x in _same_clip_count([x[0] for x in items])])
    return np.concatenate(items)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix between the rows of ``a`` and ``b``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return (a @ b.T).astype(np.float32)
