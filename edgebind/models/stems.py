"""Per-modality preprocessors: raw model input -> tokens (cls + patches + positions).

Module and parameter names mirror the reference state-dict layout (``rgbt_stem`` for vision,
audio and thermal, ``depth_stem`` for depth, ``imu_stem`` plus a bare ``pos_embed`` for IMU).
Each preprocessor returns ``(tokens, attn_mask, seq_len)``; the last two are None except for
text. ``check`` validates a full model input (clip axis included) and says whether it carries
clips to average.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgebind.models.config import ImageBindConfig

TEXT_CONTEXT = 77
TEXT_VOCAB = 49408
IMAGE_SIZE = 224  # the resolution the vision pos-embed grid was trained at
IMU_CHANNELS, IMU_SAMPLES, IMU_PATCH = 6, 2000, 8  # IMU patch size is hard-coded upstream

TowerInput = tuple[Tensor, "Tensor | None", "Tensor | None"]


def _is_exporting() -> bool:
    """True while tracing/exporting, where data-dependent checks must not run."""
    if torch.jit.is_tracing() or torch.jit.is_scripting():
        return True
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and compiler.is_compiling())


def _shape(x: Tensor) -> str:
    return "(" + ", ".join(str(s) for s in x.shape) + ")"


def check_finite(modality: str, x: Tensor) -> None:
    """Raise ValueError on NaN/Inf. One extra pass over the input; skipped during export."""
    if x.is_floating_point() and not _is_exporting() and x.device.type != "meta":
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{modality} input contains NaN or Inf values; expected finite "
                             f"floats (shape {_shape(x)})")


def _expect_float(modality: str, x: Tensor) -> None:
    if not x.is_floating_point():
        raise ValueError(f"{modality} input must be a floating-point tensor, got {x.dtype}")


def _expect_tail(modality: str, x: Tensor, tail: tuple[int, ...], layout: str) -> None:
    if tuple(x.shape[-len(tail):]) != tail:
        raise ValueError(f"{modality} input must be {layout} with trailing dims {tail}, got shape "
                         f"{_shape(x)}")


def _trunc_normal(*shape: int) -> nn.Parameter:
    p = nn.Parameter(torch.empty(*shape))
    nn.init.trunc_normal_(p, std=0.02)
    return p


class PadIm2Video(nn.Module):
    """Images (N,C,H,W) become 1-frame videos, and 1-frame videos are repeated to ``ntimes``."""

    def __init__(self, ntimes: int) -> None:
        super().__init__()
        self.ntimes = ntimes

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 4:
            x = x.unsqueeze(2)
        if x.shape[2] == 1:
            x = x.repeat(1, 1, self.ntimes, 1, 1)
        return x


class PatchStem(nn.Module):
    """Convolutional patch projection -> (N, tokens, D), then an optional LayerNorm."""

    def __init__(self, proj: nn.Module, norm_layer: nn.Module | None = None) -> None:
        super().__init__()
        self.proj = proj
        self.norm_layer = norm_layer

    def forward(self, x: Tensor) -> Tensor:
        x = self.proj(x)  # (N, D, *grid); grid flattened in (T, H, W) order
        x = x.reshape(x.shape[0], x.shape[1], -1).transpose(1, 2)
        return self.norm_layer(x) if self.norm_layer is not None else x


class PosEmbedHelper(nn.Module):
    """Holds ``pos_embed`` (1, cls + patches, D) under the reference's module name."""

    def __init__(self, num_tokens: int, dim: int) -> None:
        super().__init__()
        self.pos_embed = _trunc_normal(1, num_tokens, dim)


def conv_stem(in_ch: int, dim: int, patch: int, channels: int, frames: int = 0) -> nn.Sequential:
    """A convolutional stem ending on the same grid as a ``patch``-strided projection:
    4x4/4 patchify, 3x3/2 stages doubling the width, then a 2x2/2 projection to ``dim``.

    ``frames`` > 0 (vision): images become 1-frame videos, the stages run per frame and the
    last projection also spans ``frames`` time steps, like the reference's (2, k, k) kernel.
    """
    video = frames > 0
    conv, norm = (nn.Conv3d, nn.BatchNorm3d) if video else (nn.Conv2d, nn.BatchNorm2d)

    def k(n: int):
        return (1, n, n) if video else n

    def pad(n: int):
        return (0, n, n) if video else n

    layers: list[nn.Module] = [PadIm2Video(ntimes=1)] if video else []
    c, size = channels, 4
    layers += [conv(in_ch, c, k(4), k(4), bias=False), norm(c), nn.GELU()]
    while size * 2 < patch:
        layers += [conv(c, 2 * c, k(3), k(2), pad(1), bias=False), norm(2 * c), nn.GELU()]
        c, size = 2 * c, size * 2
    if video:
        layers += [PadIm2Video(ntimes=frames),
                   nn.Conv3d(c, dim, (frames, 2, 2), (frames, 2, 2), bias=False)]
    else:
        layers.append(nn.Conv2d(c, dim, 2, 2, bias=False))
    return nn.Sequential(*layers)


class PatchPreprocessor(nn.Module):
    """cls token + patch stem + learned positions (vision, audio, depth, thermal)."""

    def __init__(self, modality: str, stem_name: str, stem: PatchStem, grid: tuple[int, ...],
                 dim: int, sample_shape: tuple[int, ...], layout: str) -> None:
        super().__init__()
        self.modality = modality
        self.grid = grid  # patch grid of the trained resolution
        self.sample_shape = sample_shape  # one sample without batch/clip axes
        self.layout = layout
        self.stem_name = stem_name
        self.cls_token = _trunc_normal(1, 1, dim)
        self.add_module(stem_name, stem)
        self.pos_embedding_helper = PosEmbedHelper(1 + math.prod(grid), dim)

    @property
    def stem(self) -> PatchStem:
        return getattr(self, self.stem_name)

    def check(self, x: Tensor) -> bool:
        _expect_float(self.modality, x)
        n = len(self.sample_shape) + 1
        if x.ndim not in (n, n + 1):
            raise ValueError(f"{self.modality} input must be {n}-D {self.layout} or {n + 1}-D "
                             f"clips (B, S, ...), got {x.ndim}-D shape {_shape(x)}")
        _expect_tail(self.modality, x, self.sample_shape, self.layout)
        check_finite(self.modality, x)
        return x.ndim == n + 1

    def positions(self, num_patches: int) -> Tensor:
        return self.pos_embedding_helper.pos_embed

    def forward(self, x: Tensor) -> TowerInput:
        patches = self.stem(x)
        cls = self.cls_token.expand(patches.shape[0], -1, -1)
        tokens = torch.cat([cls, patches], dim=1) + self.positions(patches.shape[1])
        return tokens, None, None


class VisionPreprocessor(PatchPreprocessor):
    """Images (B,3,H,W) or video clips; square sizes other than 224 interpolate the positions."""

    def __init__(self, cfg: ImageBindConfig) -> None:
        kt, kh, kw = cfg.kernel_size
        dim = cfg.vision_embed_dim
        if cfg.vision_stem == "conv":
            if kt != cfg.video_frames:
                raise ValueError("vision_stem 'conv' needs kernel_size[0] == video_frames")
            stem = PatchStem(conv_stem(3, dim, kh, cfg.stem_channels, frames=kt))
        else:
            conv = nn.Conv3d(3, dim, kernel_size=cfg.kernel_size, stride=cfg.kernel_size,
                             bias=False)
            stem = PatchStem(nn.Sequential(PadIm2Video(ntimes=2), conv))
        grid = (cfg.video_frames // kt, IMAGE_SIZE // kh, IMAGE_SIZE // kw)
        super().__init__("vision", "rgbt_stem", stem, grid, dim, (3, IMAGE_SIZE, IMAGE_SIZE),
                         "(B, 3, H, W) images")
        self.frames = cfg.video_frames
        self.patch = kh

    def check(self, x: Tensor) -> bool:
        _expect_float("vision", x)
        if x.ndim == 5:
            # The reference reads a 5-D tensor as clips of images and crashes; say what to do.
            raise ValueError(f"vision input must be 4-D (B, 3, H, W) images or 6-D (B, S, 3, T, H, "
                             f"W) video clips, got 5-D shape {_shape(x)}; pass a single video "
                             f"(B, 3, T, H, W) as x.unsqueeze(1)")
        if x.ndim not in (4, 6):
            raise ValueError(f"vision input must be 4-D (B, 3, H, W) images or 6-D (B, S, 3, T, H, "
                             f"W) video clips, got {x.ndim}-D shape {_shape(x)}")
        c = x.shape[1] if x.ndim == 4 else x.shape[2]
        if c != 3:
            raise ValueError(f"vision input must have 3 colour channels, got shape {_shape(x)}")
        if x.ndim == 6 and x.shape[3] not in (1, self.frames):
            raise ValueError(f"vision clips must have T in (1, {self.frames}) frames, got shape "
                             f"{_shape(x)}")
        h, w = x.shape[-2], x.shape[-1]
        if h != w:
            raise ValueError(f"vision input must be square (H == W, e.g. 224 x 224), got "
                             f"{h} x {w} (shape {_shape(x)})")
        if h < self.patch:
            raise ValueError(f"vision input must be at least {self.patch} pixels, got {h}")
        check_finite("vision", x)
        return x.ndim == 6

    def positions(self, num_patches: int) -> Tensor:
        pos = self.pos_embedding_helper.pos_embed
        n_old = pos.shape[1] - 1
        if num_patches == n_old:
            return pos
        if self.grid[0] != 1:
            raise ValueError("pos-embed interpolation needs a single time patch")
        # Bicubic on the 2-D patch grid with scale_factor = sqrt(N_new / N_old), exactly as the
        # reference calls F.interpolate (scale_factor, not size, so the same source coordinates).
        side = self.grid[1]
        dim = pos.shape[-1]
        grid = pos[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, scale_factor=math.sqrt(num_patches / n_old), mode="bicubic")
        patch_pos = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
        return torch.cat([pos[:, :1], patch_pos], dim=1)


class AudioPreprocessor(PatchPreprocessor):
    """Log-mel (N, 1, 128, 204) -> Conv2d(k16, s10) on a 12x19 grid + LayerNorm (eps 1e-5)."""

    def __init__(self, cfg: ImageBindConfig) -> None:
        k, s, dim = cfg.audio_kernel_size, cfg.audio_stride, cfg.audio_embed_dim
        mel, frames = cfg.audio_num_mel_bins, cfg.audio_target_len
        conv = nn.Conv2d(1, dim, kernel_size=k, stride=s, bias=False)
        stem = PatchStem(conv, nn.LayerNorm(dim))
        grid = ((mel - k) // s + 1, (frames - k) // s + 1)
        super().__init__("audio", "rgbt_stem", stem, grid, dim, (1, mel, frames),
                         f"(B, 1, {mel}, {frames}) log-mel")


class ImagePlanePreprocessor(PatchPreprocessor):
    """Single-channel 224x224 maps (depth, thermal): Conv2d(k, s=k) + LayerNorm (eps 1e-5)."""

    def __init__(self, modality: str, stem_name: str, dim: int, kernel: int,
                 kind: str = "patch", channels: int = 32) -> None:
        if kind == "conv":
            conv: nn.Module = conv_stem(1, dim, kernel, channels)
        else:
            conv = nn.Conv2d(1, dim, kernel_size=kernel, stride=kernel, bias=False)
        stem = PatchStem(conv, nn.LayerNorm(dim))
        side = IMAGE_SIZE // kernel
        super().__init__(modality, stem_name, stem, (side, side), dim, (1, IMAGE_SIZE, IMAGE_SIZE),
                         f"(B, 1, {IMAGE_SIZE}, {IMAGE_SIZE})")


class TextPreprocessor(nn.Module):
    """Token ids (B, 77) -> embeddings + positions; a causal mask; EOT position via argmax."""

    def __init__(self, cfg: ImageBindConfig) -> None:
        super().__init__()
        dim = cfg.text_embed_dim
        self.modality = "text"
        self.pos_embed = nn.Parameter(torch.empty(1, TEXT_CONTEXT, dim))
        # -inf strictly above the diagonal (causal). Made on the CPU and moved: triu_ on "meta"
        # pulls in torch's Python meta kernels (about 1 s of imports); meta builds stay instant.
        mask = torch.full((TEXT_CONTEXT, TEXT_CONTEXT), float("-inf"), device="cpu").triu_(1)
        mask = mask.to(self.pos_embed.device)
        self.register_buffer("mask", mask)
        # _weight skips Embedding's own init (normal_, slow on meta; see transformer.py).
        self.token_embedding = nn.Embedding(TEXT_VOCAB, dim, _weight=torch.empty(TEXT_VOCAB, dim))
        if not self.pos_embed.is_meta:
            nn.init.normal_(self.pos_embed, std=0.01)
            nn.init.normal_(self.token_embedding.weight, std=0.02)

    def check(self, x: Tensor) -> bool:
        if x.ndim != 2 or x.shape[1] != TEXT_CONTEXT:
            raise ValueError(f"text input must be (B, {TEXT_CONTEXT}) token ids, got shape "
                             f"{_shape(x)}")
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise ValueError(f"text input must be integer token ids (int64), got {x.dtype}")
        if not _is_exporting() and x.device.type != "meta" and x.numel():
            lo, hi = int(x.min()), int(x.max())
            if lo < 0 or hi >= TEXT_VOCAB:
                raise ValueError(f"text token ids must lie in [0, {TEXT_VOCAB}), got range "
                                 f"[{lo}, {hi}]")
        return False

    def forward(self, text: Tensor) -> TowerInput:
        tokens = self.token_embedding(text) + self.pos_embed
        # The EOT id (49407) is the largest id, so argmax finds it (first occurrence).
        return tokens, self.mask, text.argmax(dim=-1)


class ImuStem(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(IMU_CHANNELS * IMU_PATCH, dim, bias=False)
        self.norm_layer = nn.LayerNorm(dim)  # eps 1e-5, unlike trunk/head norms

    def forward(self, x: Tensor) -> Tensor:
        return self.norm_layer(self.proj(x))


class ImuPreprocessor(nn.Module):
    """(B, 6, 2000) -> 250 tokens of 8 samples x 6 channels, channel-major (index c*8 + t)."""

    def __init__(self, cfg: ImageBindConfig) -> None:
        super().__init__()
        dim = cfg.imu_embed_dim
        self.modality = "imu"
        self.num_patches = IMU_SAMPLES // IMU_PATCH
        # Registration order matches the reference key order: pos_embed before cls_token.
        self.pos_embed = _trunc_normal(1, 1 + self.num_patches, dim)
        self.cls_token = _trunc_normal(1, 1, dim)
        self.imu_stem = ImuStem(dim)

    def check(self, x: Tensor) -> bool:
        _expect_float("imu", x)
        if x.ndim != 3 or tuple(x.shape[1:]) != (IMU_CHANNELS, IMU_SAMPLES):
            raise ValueError(f"imu input must be (B, {IMU_CHANNELS}, {IMU_SAMPLES}) samples, got "
                             f"shape {_shape(x)}")
        check_finite("imu", x)
        return False

    def forward(self, imu: Tensor) -> TowerInput:
        # Same as unfold(-1, 8, 8).permute(0, 2, 1, 3) but a plain reshape (export friendly).
        x = imu.reshape(-1, IMU_CHANNELS, self.num_patches, IMU_PATCH).permute(0, 2, 1, 3)
        x = self.imu_stem(x.reshape(-1, self.num_patches, IMU_CHANNELS * IMU_PATCH))
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return torch.cat([cls, x], dim=1) + self.pos_embed, None, None


def build_preprocessor(modality: str, cfg: ImageBindConfig) -> nn.Module:
    if modality == "vision":
        return VisionPreprocessor(cfg)
    if modality == "text":
        return TextPreprocessor(cfg)
    if modality == "audio":
        return AudioPreprocessor(cfg)
    if modality == "depth":
        return ImagePlanePreprocessor("depth", "depth_stem", cfg.depth_embed_dim,
                                      cfg.depth_kernel_size, cfg.depth_stem, cfg.stem_channels)
    if modality == "thermal":
        return ImagePlanePreprocessor("thermal", "rgbt_stem", cfg.thermal_embed_dim,
                                      cfg.thermal_kernel_size, cfg.thermal_stem,
                                      cfg.stem_channels)
    if modality == "imu":
        return ImuPreprocessor(cfg)
    raise ValueError(f"unknown modality {modality!r}")
