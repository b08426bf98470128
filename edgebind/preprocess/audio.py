"""Audio waveform -> (clips, 1, 128, 204) float32, reproducing the reference step by step.

1. Resample to 16 kHz (windowed-sinc, the reference's defaults) when the rate differs.
2. Cut ``clips_per_video`` clips of ``clip_duration`` s with the reference's constant-clips
   sampler: starts ``k * max(D - 2, 0) / 3`` (exact fractions; the last clip does not reach the
   end of the audio).
3. Per clip, in order, on one shared buffer: subtract the clip's mean (all channels) in place, so
   overlapping later clips see earlier clips' shifts (the reference quirk), then Kaldi log-mel of
   channel 0.
4. (128, frames), zero-padded / cut to 204 frames, then ``(x - mean) / std``.

Math runs in float64; the result is float32. See docs/preprocessing.md.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from edgebind.preprocess import fbank as fb
from edgebind.preprocess._params import Params, check_finite, check_positive
from edgebind.preprocess._validate import as_array, describe, require_finite, require_float
from edgebind.preprocess.resample import resample

Layout = Literal["channels_first", "frames_first"]
MAX_CHANNELS = 8
MODEL_RATE = 16000
MEL_BINS = 128


class AudioLengthWarning(UserWarning):
    """A clip's frame count differs from ``target_length`` by more than 20 % (padded or cut)."""


@dataclass(frozen=True)
class AudioParams(Params):
    """Audio preprocessing; defaults are the reference's.

    ``sample_rate`` and ``num_mel_bins`` are recorded for the manifest but fixed: the shipped mel
    table is for 16 kHz / 128 bins. ``reference_inplace_mean`` reproduces the reference's
    in-place per-clip mean subtraction on a shared buffer (set False to centre each clip on a
    copy, which the reference weights were not evaluated with).
    """

    sample_rate: int = MODEL_RATE
    num_mel_bins: int = MEL_BINS
    target_length: int = 204
    clip_duration: float = 2.0
    clips_per_video: int = 3
    mean: float = -4.268
    std: float = 9.138
    lowpass_filter_width: int = 6
    rolloff: float = 0.99
    reference_inplace_mean: bool = True

    def __post_init__(self) -> None:
        o = "AudioParams"
        if self.sample_rate != MODEL_RATE:
            raise ValueError(f"{o}.sample_rate must be {MODEL_RATE} (the mel table's rate), got {self.sample_rate!r}")
        if self.num_mel_bins != MEL_BINS:
            raise ValueError(f"{o}.num_mel_bins must be {MEL_BINS} (the shipped table), got {self.num_mel_bins!r}")
        check_positive(o, "target_length", self.target_length, integer=True)
        check_positive(o, "clip_duration", self.clip_duration)
        check_positive(o, "clips_per_video", self.clips_per_video, integer=True)
        check_finite(o, "mean", self.mean)
        check_positive(o, "std", self.std)
        check_positive(o, "lowpass_filter_width", self.lowpass_filter_width, integer=True)
        check_positive(o, "rolloff", self.rolloff)
        if not isinstance(self.reference_inplace_mean, bool):
            raise TypeError(f"{o}.reference_inplace_mean must be a bool, got {self.reference_inplace_mean!r}")


def check_rate(rate: Any) -> int:
    """A positive integer sample rate (integer-valued floats such as 44100.0 are accepted)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise TypeError(f"audio: rate must be a positive integer in Hz, got {rate!r}")
    if not math.isfinite(rate) or rate <= 0 or int(rate) != rate:
        raise ValueError(f"audio: rate must be a positive integer in Hz, got {rate!r}")
    return int(rate)


def as_channels_first(waveform: Any, layout: Layout = "channels_first", *,
                      allow_empty: bool = False) -> np.ndarray:
    """Validate a float waveform and return it as (C, N) float64 (a new array).

    ``layout='channels_first'``: (N,) or (C, N) with C <= 8, the reference's layout.
    ``layout='frames_first'``: (N,) or (N, C) with C <= 8, the SDK's Sample layout.
    """
    x = as_array(waveform, "audio")
    require_float(x, "audio")
    if layout not in ("channels_first", "frames_first"):
        raise ValueError(f"audio: layout must be 'channels_first' or 'frames_first', got {layout!r}")
    if x.ndim == 1:
        x = x[None, :]
    elif x.ndim == 2:
        ch_axis = 0 if layout == "channels_first" else 1
        if x.shape[ch_axis] > MAX_CHANNELS:
            other = "frames_first" if layout == "channels_first" else "channels_first"
            want = "(channels, samples)" if layout == "channels_first" else "(samples, channels)"
            raise ValueError(f"audio: expected {want} with at most {MAX_CHANNELS} channels for "
                             f"layout={layout!r}, got shape {x.shape}; if the axes are the other "
                             f"way round pass layout={other!r}")
        if layout == "frames_first":
            x = x.T
    else:
        raise ValueError(f"audio: expected a 1-D (samples,) or 2-D waveform, got {describe(x)}")
    if x.shape[0] == 0 or (x.shape[1] == 0 and not allow_empty):
        raise ValueError(f"audio: expected a non-empty waveform, got {describe(x)}")
    require_finite(x, "audio")
    return np.array(x, dtype=np.float64, order="C")


def clip_timepoints(n_samples: int, sample_rate: int = MODEL_RATE, clip_duration: float = 2.0,
                    clips_per_video: int = 3) -> list[tuple[Fraction, Fraction]]:
    """Clip (start, end) seconds of the reference's constant-clips-per-video sampler.

    ``step = max(D - clip_duration, 0) / clips_per_video`` (not ``clips - 1``), D = n/rate as a
    float, exact fractions from there on; for D <= clip_duration every clip is [0, clip_duration].
    """
    duration = n_samples / sample_rate
    step = Fraction(max(duration - clip_duration, 0)) / clips_per_video
    dur = Fraction(clip_duration)
    return [(step * k, step * k + dur) for k in range(clips_per_video)]


def clip_slices(n_samples: int, params: AudioParams | None = None) -> list[tuple[int, int]]:
    """Sample index ranges ``[int(t0*rate), int(t1*rate))`` of each clip (end may pass N)."""
    p = params or AudioParams()
    tps = clip_timepoints(n_samples, p.sample_rate, p.clip_duration, p.clips_per_video)
    return [(int(t0 * p.sample_rate), int(t1 * p.sample_rate)) for t0, t1 in tps]


def log_mel_clips(wave16k: np.ndarray, params: AudioParams | None = None, *,
                  fold_identical: bool = False) -> np.ndarray:
    """(C, N) 16 kHz float64 -> (clips, 128, target_length) raw log-mel, zero padded.

    MUTATES ``wave16k`` when ``reference_inplace_mean`` (pass a copy you own). Clips are centred
    sequentially on the shared buffer, each clip's channel 0 is captured right after its own
    centring, then all clips' frames go through one batched fbank.
    ``fold_identical``: when every clip is the same span (audio no longer than a clip, as with
    2 s windows and 2 s clips) return that one clip: the tower's mean over identical clips is
    that clip's embedding, so the reference's other clips would only repeat the work (they
    differ from the first by the float rounding of a second, near-zero mean subtraction).
    """
    p = params or AudioParams()
    n = wave16k.shape[1]
    if n < fb.FRAME_LENGTH:
        raise ValueError(f"audio: need at least {fb.FRAME_LENGTH} samples at {MODEL_RATE} Hz "
                         f"(25 ms), got {n}")
    captured: list[np.ndarray] = []
    slices = clip_slices(n, p)
    if fold_identical and len(set(slices)) == 1:
        slices = slices[:1]
    for s0, s1 in slices:
        if min(s1, n) - s0 < fb.FRAME_LENGTH:
            raise ValueError(f"audio: clip [{s0}, {s1}) has fewer than {fb.FRAME_LENGTH} samples "
                             f"of {n}; clip_duration {p.clip_duration} s is too short")
        view = wave16k[:, s0:s1] if p.reference_inplace_mean else wave16k[:, s0:s1].copy()
        view -= view.mean()
        captured.append(view[0].copy())
    counts = [fb.num_frames(c.shape[0]) for c in captured]
    logmel = fb.log_mel_frames(np.concatenate([fb.frames_of(c) for c in captured]))
    out = np.zeros((len(captured), MEL_BINS, p.target_length), dtype=np.float64)
    start = 0
    warned = False
    for k, count in enumerate(counts):
        keep = min(count, p.target_length)
        out[k, :, :keep] = logmel[start:start + keep].T
        start += count
        if not warned and abs(p.target_length - count) / count > 0.2:
            warned = True
            warnings.warn(AudioLengthWarning(
                f"audio clip has {count} frames, target {p.target_length}: "
                f"{'padded' if count < p.target_length else 'cut'} by more than 20% "
                f"(audio {n / MODEL_RATE:.3f} s, clips {p.clip_duration} s)"), stacklevel=4)
    return out


def normalize(raw: np.ndarray, params: AudioParams | None = None) -> np.ndarray:
    """Raw log-mel (clips, 128, T) -> model input (clips, 1, 128, T) float32."""
    p = params or AudioParams()
    return ((raw - p.mean) / p.std).astype(np.float32)[:, None]


normalise = normalize   # the earlier spelling, kept for old imports


def features_from_channels_first(x: np.ndarray, rate: int, params: AudioParams, *,
                                 fold_identical: bool = False) -> np.ndarray:
    """Validated (C, N) float64 at ``rate`` (consumed) -> (clips, 1, 128, T) float32."""
    wave = resample(x, rate, MODEL_RATE, params.lowpass_filter_width, params.rolloff)
    return normalize(log_mel_clips(wave, params, fold_identical=fold_identical), params)


def window_features(channels_first: np.ndarray, rate: float, params: AudioParams, *,
                    fold_identical: bool = False) -> np.ndarray:
    """A trusted waveform -> (clips, 1, 128, T) float32: (C, N) float, finite, already checked
    where its samples entered (a sensors ``Window``'s ``data.T``), so only what depends on the
    model (rate, length) is checked here, not every sample again. Raw arrays from users go
    through :func:`audio`, which checks everything."""
    r = check_rate(rate)
    x = np.asarray(channels_first, dtype=np.float64)
    _check_length(x.shape[1], r)
    if r == MODEL_RATE and np.shares_memory(x, channels_first):
        x = x.copy()   # clips are centred in place (the reference quirk): never the caller's

    return features_from_channels_first(x, r, params, fold_identical=fold_identical)


def _check_length(n: int, rate: int) -> None:
    if -(-n * MODEL_RATE // rate) < fb.FRAME_LENGTH:
        raise ValueError(f"audio: need at least 25 ms (400 samples at {MODEL_RATE} Hz), got "
                         f"{n} samples at {rate} Hz ({n / rate * 1000:.1f} ms)")


def audio(waveform: Any, rate: int, *, layout: Layout = "channels_first",
          params: AudioParams | None = None, fold_identical_clips: bool = False) -> np.ndarray:
    """A float waveform in [-1, 1] -> (3, 1, 128, 204) float32 model input.

    ``waveform``: (N,) mono, or 2-D in ``layout``: 'channels_first' = (C, N), the reference's
    layout (default); 'frames_first' = (N, C), the SDK's Sample layout. At most 8 channels;
    only channel 0 reaches the filterbank but clip means cover all channels (as the reference).
    ``rate``: the waveform's sample rate in Hz (resampled to 16 kHz when different).
    ``fold_identical_clips``: (1, 1, 128, 204) when all clips are one span (see
    :func:`log_mel_clips`); for towers that take any clip count. Off: the reference exactly.
    Raises TypeError for non-float input, ValueError for bad shapes, NaN/inf, or fewer than
    400 samples at 16 kHz. Warns :class:`AudioLengthWarning` for audio much shorter than 2 s.
    """
    p = params or AudioParams()
    r = check_rate(rate)
    x = as_channels_first(waveform, layout)
    _check_length(x.shape[1], r)
    return features_from_channels_first(x, r, p, fold_identical=fold_identical_clips)
