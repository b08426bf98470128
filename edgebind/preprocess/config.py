"""All per-modality preprocessing parameters in one JSON-serialisable object for bundle manifests."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from edgebind.modality import AUDIO, DEPTH, IMU, MODALITIES, TEXT, THERMAL, VISION
from edgebind.preprocess._params import Params
from edgebind.preprocess.audio import AudioParams
from edgebind.preprocess.depth import DepthParams
from edgebind.preprocess.image import ImageParams
from edgebind.preprocess.imu import ImuParams
from edgebind.preprocess.thermal import ThermalParams
from edgebind.preprocess.tokenizer import TextParams

SCHEMA = "edgebind.preprocess/1"


@dataclass(frozen=True)
class PreprocessConfig:
    """Preprocessing of every modality; the defaults reproduce the reference (ImageBind).

    ``to_dict()`` is keyed by modality name (vision, text, audio, depth, thermal, imu) plus a
    ``schema`` version; ``from_dict`` fills missing modalities with defaults and refuses unknown
    keys, unknown schema versions and invalid values with a message naming them.
    """

    vision: ImageParams = field(default_factory=ImageParams)
    text: TextParams = field(default_factory=TextParams)
    audio: AudioParams = field(default_factory=AudioParams)
    depth: DepthParams = field(default_factory=DepthParams)
    thermal: ThermalParams = field(default_factory=ThermalParams)
    imu: ImuParams = field(default_factory=ImuParams)

    def __post_init__(self) -> None:
        for name, cls in _CLASSES.items():
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"PreprocessConfig.{name} must be {cls.__name__}, "
                                f"got {type(getattr(self, name)).__name__}")

    def for_modality(self, modality: str) -> Params:
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")
        return getattr(self, modality)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **{m: getattr(self, m).to_dict() for m in MODALITIES}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PreprocessConfig":
        if not isinstance(d, Mapping):
            raise TypeError(f"PreprocessConfig.from_dict expected a mapping, got {type(d).__name__}")
        schema = d.get("schema", SCHEMA)
        if schema != SCHEMA:
            raise ValueError(f"PreprocessConfig: unsupported schema {schema!r}; expected {SCHEMA!r}")
        unknown = sorted(set(d) - set(MODALITIES) - {"schema"})
        if unknown:
            raise ValueError(f"PreprocessConfig: unknown key(s) {unknown}; expected schema, {', '.join(MODALITIES)}")
        return cls(**{m: _CLASSES[m].from_dict(d[m]) for m in MODALITIES if m in d})


_CLASSES: dict[str, type[Params]] = {
    VISION: ImageParams, TEXT: TextParams, AUDIO: AudioParams,
    DEPTH: DepthParams, THERMAL: ThermalParams, IMU: ImuParams,
}
