"""ImageBind configuration: the reference constructor's keyword arguments, and named presets.

``ImageBindConfig`` has the fields of the reference ``ImageBindModel.__init__`` (same names, same
defaults), so the kwargs dict of a reference model (parity ``config.json``) maps 1:1. EdgeBind adds
the stem kind of the image-like towers (``vision_stem``, ``depth_stem``, ``thermal_stem``:
``"patch"``, the reference's single strided convolution, or ``"conv"``, a small convolutional stack
ending at the same patch grid) and the width ``stem_channels`` of that stack. Small towers trained
from scratch on little data learn far more with the conv stem (early convolutions give a ViT the
locality it cannot learn from a few thousand images); the reference presets keep ``"patch"``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from edgebind.modality import MODALITIES

STEM_KINDS = ("patch", "conv")
STEM_MODALITIES = ("vision", "depth", "thermal")
EXTENSION_DEFAULTS: dict[str, Any] = {"vision_stem": "patch", "depth_stem": "patch",
                                      "thermal_stem": "patch", "stem_channels": 32}


@dataclass(frozen=True)
class ImageBindConfig:
    """Sizes of the six towers. Defaults are the reference constructor defaults."""

    video_frames: int = 2
    kernel_size: tuple[int, int, int] = (2, 14, 14)
    audio_kernel_size: int = 16
    audio_stride: int = 10
    out_embed_dim: int = 768
    vision_embed_dim: int = 1024
    vision_num_blocks: int = 24
    vision_num_heads: int = 16
    audio_embed_dim: int = 768
    audio_num_blocks: int = 12
    audio_num_heads: int = 12
    audio_num_mel_bins: int = 128
    audio_target_len: int = 204
    audio_drop_path: float = 0.1
    text_embed_dim: int = 768
    text_num_blocks: int = 12
    text_num_heads: int = 12
    depth_embed_dim: int = 384
    depth_kernel_size: int = 16
    depth_num_blocks: int = 12
    depth_num_heads: int = 8
    depth_drop_path: float = 0.0
    thermal_embed_dim: int = 768
    thermal_kernel_size: int = 16
    thermal_num_blocks: int = 12
    thermal_num_heads: int = 12
    thermal_drop_path: float = 0.0
    imu_embed_dim: int = 512
    # Accepted for compatibility but unused: the reference IMU stem hard-codes 8 samples per token.
    imu_kernel_size: int = 8
    imu_num_blocks: int = 6
    imu_num_heads: int = 8
    imu_drop_path: float = 0.7
    # EdgeBind extensions (the defaults are the reference architecture).
    vision_stem: str = "patch"
    depth_stem: str = "patch"
    thermal_stem: str = "patch"
    stem_channels: int = 32

    def __post_init__(self) -> None:
        # JSON gives lists; keep the frozen dataclass hashable and comparable.
        object.__setattr__(self, "kernel_size", tuple(int(k) for k in self.kernel_size))
        if len(self.kernel_size) != 3:
            raise ValueError(f"kernel_size must have 3 entries (T, H, W), got {self.kernel_size}")
        for m in STEM_MODALITIES:
            kind = getattr(self, f"{m}_stem")
            if kind not in STEM_KINDS:
                raise ValueError(f"{m}_stem must be one of {STEM_KINDS}, got {kind!r}")
            patch = self.kernel_size[1] if m == "vision" else getattr(self, f"{m}_kernel_size")
            if kind == "conv" and (patch < 8 or patch & (patch - 1)):
                raise ValueError(f"{m}_stem 'conv' needs a power-of-two patch size >= 8, got "
                                 f"{patch}")
        if self.stem_channels <= 0:
            raise ValueError(f"stem_channels must be positive, got {self.stem_channels}")
        for m in MODALITIES:
            d, h = self.embed_dim(m), self.num_heads(m)
            if d <= 0 or h <= 0 or d % h:
                raise ValueError(f"{m}: embed dim {d} must be a positive multiple of num_heads {h}")
            if self.num_blocks(m) < 0:
                raise ValueError(f"{m}: num_blocks must be >= 0, got {self.num_blocks(m)}")

    # Per-modality accessors, so tower code need not spell out field names.
    def embed_dim(self, modality: str) -> int:
        return int(getattr(self, f"{modality}_embed_dim"))

    def num_blocks(self, modality: str) -> int:
        return int(getattr(self, f"{modality}_num_blocks"))

    def num_heads(self, modality: str) -> int:
        return int(getattr(self, f"{modality}_num_heads"))

    def drop_path(self, modality: str) -> float:
        # Vision and text have no drop-path argument upstream (always 0).
        return float(getattr(self, f"{modality}_drop_path", 0.0))

    def to_dict(self) -> dict[str, Any]:
        """Constructor kwargs; EdgeBind's extensions only where they differ from the reference
        (so a reference model's dict is exactly the reference kwargs)."""
        d = dataclasses.asdict(self)
        d["kernel_size"] = list(self.kernel_size)
        for name, default in EXTENSION_DEFAULTS.items():
            if d[name] == default:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ImageBindConfig":
        """Build from reference constructor kwargs (a subset is fine: the rest take defaults)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown ImageBind config keys {unknown}; expected a subset of "
                             f"{sorted(names)}")
        return cls(**dict(d))

    def replace(self, **changes: Any) -> "ImageBindConfig":
        return dataclasses.replace(self, **changes)


def _uniform(width: int, blocks: int, heads: int, out: int) -> ImageBindConfig:
    kw: dict[str, Any] = {"out_embed_dim": out}
    for m in MODALITIES:
        kw.update({f"{m}_embed_dim": width, f"{m}_num_blocks": blocks, f"{m}_num_heads": heads})
    return ImageBindConfig(**kw)


# The reference imagebind_huge(): these overrides, everything else a constructor default.
IMAGEBIND_HUGE = ImageBindConfig(
    vision_embed_dim=1280, vision_num_blocks=32, vision_num_heads=16,
    text_embed_dim=1024, text_num_blocks=24, text_num_heads=16,
    out_embed_dim=1024, audio_drop_path=0.1, imu_drop_path=0.7,
)

PRESETS: dict[str, ImageBindConfig] = {
    "imagebind_huge": IMAGEBIND_HUGE,
    # ViT-S sized student for distillation: every tower 384 wide, 12 blocks, 6 heads.
    "small": _uniform(384, 12, 6, 512),
    # For tests, demos and the default simulated model.
    "tiny": _uniform(128, 2, 4, 128),
}


def resolve_config(config: str | ImageBindConfig | Mapping[str, Any]) -> ImageBindConfig:
    """A preset name, a config, or a dict of reference constructor kwargs -> ImageBindConfig."""
    if isinstance(config, ImageBindConfig):
        return config
    if isinstance(config, str):
        try:
            return PRESETS[config]
        except KeyError:
            raise ValueError(f"unknown preset {config!r}; expected one of "
                             f"{', '.join(PRESETS)}") from None
    if isinstance(config, Mapping):
        return ImageBindConfig.from_dict(config)
    raise TypeError(f"config must be a preset name, ImageBindConfig or dict, got "
                    f"{type(config).__name__}")


__all__ = ["ImageBindConfig", "PRESETS", "IMAGEBIND_HUGE", "resolve_config"]
