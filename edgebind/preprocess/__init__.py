"""Raw sensor data -> model input, in NumPy + Pillow (never torch).

Vision, text and audio reproduce the reference (ImageBind) preprocessing exactly; depth,
thermal and IMU have no reference loader, so every choice is a documented parameter. All
parameters travel in bundle manifests through :class:`PreprocessConfig`. See
docs/preprocessing.md.
"""
from edgebind.preprocess.audio import AudioLengthWarning, AudioParams, audio, clip_timepoints
from edgebind.preprocess.audio_stream import AudioWindow
from edgebind.preprocess.config import PreprocessConfig
from edgebind.preprocess.depth import DepthParams, depth
from edgebind.preprocess.image import ImageParams, image, images
from edgebind.preprocess.imu import ImuParams, imu
from edgebind.preprocess.thermal import ThermalParams, thermal
from edgebind.preprocess.tokenizer import TextParams, decode, tokenize

__all__ = [
    "AudioLengthWarning", "AudioParams", "AudioWindow", "DepthParams", "ImageParams", "ImuParams",
    "PreprocessConfig", "TextParams", "ThermalParams", "audio", "clip_timepoints", "decode",
    "depth", "image", "images", "imu", "thermal", "tokenize",
]
