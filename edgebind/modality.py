"""The six ImageBind modalities and the model-input contract of each.

Names are spelled as ImageBind spells them. Shapes exclude the batch dimension; ``None`` marks a
size the reference tower accepts in several values (vision: any square multiple of 14).
"""
from __future__ import annotations

from dataclasses import dataclass

VISION = "vision"
TEXT = "text"
AUDIO = "audio"
DEPTH = "depth"
THERMAL = "thermal"
IMU = "imu"

MODALITIES: tuple[str, ...] = (VISION, TEXT, AUDIO, DEPTH, THERMAL, IMU)


@dataclass(frozen=True)
class InputSpec:
    """What one tower takes: shape without batch, dtype, and a human description."""

    modality: str
    shape: tuple[int | None, ...]
    dtype: str
    description: str


INPUT_SPECS: dict[str, InputSpec] = {
    VISION: InputSpec(VISION, (3, 224, 224), "float32",
                      "RGB image, CLIP-normalised; or clips (S, 3, 2, H, W) for video"),
    TEXT: InputSpec(TEXT, (77,), "int64", "CLIP BPE token ids, SOT ... EOT, zero padded"),
    AUDIO: InputSpec(AUDIO, (3, 1, 128, 204), "float32",
                     "3 clips x normalised 128-bin Kaldi log-mel, 204 frames"),
    DEPTH: InputSpec(DEPTH, (1, 224, 224), "float32", "normalised disparity"),
    THERMAL: InputSpec(THERMAL, (1, 224, 224), "float32", "normalised thermal intensity"),
    IMU: InputSpec(IMU, (6, 2000), "float32", "ax ay az gx gy gz, 2000 samples"),
}


def check_modality(name: str) -> str:
    """Return ``name`` if it is a known modality, else raise a ValueError listing the valid ones."""
    if name not in INPUT_SPECS:
        raise ValueError(f"unknown modality {name!r}; expected one of {', '.join(MODALITIES)}")
    return name
