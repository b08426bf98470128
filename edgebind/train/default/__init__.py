"""The default tiny model: trained on the simulated world with ImageBind's recipe, exported into
a bundle (FP32 and INT8 sensor towers, the INT8 text hub; <= 45 MB) with an anchor set for the
eight simulated events.

    python -m edgebind.train.default          # or: edgebind train default

1. render a class-balanced cache of simulated windows (model-ready inputs; seed 1000);
2. stage 1: vision trained into the space of a FROZEN pretrained sentence encoder
   (all-MiniLM-L6-v2, 384-d; ImageBind freezes its text tower the same way), frame <-> caption,
   so words the model never trained on land where they mean;
3. stage 2: audio, depth, thermal and IMU each bound to the FROZEN vision tower (InfoNCE on
   precomputed vision embeddings), never paired with text;
4. export: sensor towers FP32 plus INT8 with uint8 weights (one file exact on every CPU target;
   the device checks it on the encoder's golden set, falling back to FP32; kept only where it
   gives FP32's zero-shot answer on >= 99 % of held-out windows), the text hub INT8 the same
   way with its vocabulary, the training preprocessing (2 s windows);
5. the anchor set (each event's captions through the bundle's text tower) and the evaluation
   on a held-out seed, recorded beside the bundle (``eval.json``, ``eval.md``).

Every stage checkpoints into the work folder; running again resumes where it stopped.
"""
# config: architecture and recipe; stages: training; bundle: export and INT8 check; detection:
# anchors and the tuned detector; recipe: all of it end to end; cli: the command line.
from edgebind.train.default.bundle import (bundle_size, export_default, keep_faithful_int8,
                                           write_calibration)
from edgebind.train.default.cli import add_arguments, main, run
from edgebind.train.default.config import (DEFAULT_CONFIG, DEFAULT_WORK, INT8_MIN_AGREEMENT,
                                           SENSORS, SMALL_CHECK, TEXT_HUB, TOWERS, Recipe,
                                           recipe_dict)
from edgebind.train.default.detection import tune_detector, write_anchors
from edgebind.train.default.recipe import run_recipe
from edgebind.train.default.stages import caption_embeddings, embed_all, train_model

__all__ = ["DEFAULT_CONFIG", "DEFAULT_WORK", "INT8_MIN_AGREEMENT", "SENSORS", "SMALL_CHECK",
           "TEXT_HUB", "TOWERS", "Recipe", "add_arguments", "bundle_size", "caption_embeddings",
           "embed_all", "export_default", "keep_faithful_int8", "main", "recipe_dict", "run",
           "run_recipe", "train_model", "tune_detector", "write_anchors", "write_calibration"]
