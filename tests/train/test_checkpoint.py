"""Checkpoints load weights-only (issue 14, item 7): a crafted ``checkpoint.pt`` in a run
folder ran a shell command on ``--resume``. Every torch.load in the tree must refuse it with a
clear error, and resume must still continue exactly (optimizer, schedule, RNG)."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgebind.errors import EdgeBindError  # noqa: E402
from edgebind.train import loop  # noqa: E402
from edgebind.train.data import ArrayDataset  # noqa: E402
from edgebind.train.loop import TrainConfig, fit  # noqa: E402
from edgebind.train.tasks import BindTask  # noqa: E402

from .conftest import tiny_model  # noqa: E402


class _RunsShell:
    """Unpickling this calls os.system: what a crafted checkpoint does."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def crafted(path: Path, marker: Path, wrap=lambda x: x) -> Path:
    payload = _RunsShell(f"touch {marker}")
    torch.save(wrap({"format": "edgebind.train-checkpoint/1", "step": 1, "task": {},
                     "optimizer": payload, "scheduler": {}, "config": {},
                     "rng": {"torch": torch.get_rng_state(), "cuda": []}, "extra": {}}), path)
    return path


def _cfg(**kw):
    base = dict(steps=6, batch_size=8, lr=3e-3, warmup_steps=2, progress=False, threads=2,
                log_every=1, checkpoint_every=0)
    return TrainConfig(**{**base, **kw})


def test_resume_refuses_a_crafted_checkpoint(tmp_path, train_data):
    run, marker = tmp_path / "run", tmp_path / "PWNED"
    run.mkdir()
    crafted(run / loop.CHECKPOINT, marker)
    task = BindTask(tiny_model(), "depth", "vision", temperature=0.1)
    with pytest.raises(EdgeBindError, match=r"checkpoint\.pt.*posix\.system") as err:
        fit(task, ArrayDataset(dict(train_data), {}), _cfg(), run,
            keys=["depth", "vision_embedding"], resume=True)
    assert not marker.exists(), "the checkpoint ran its shell command"
    assert "weights_only=False" not in str(err.value)   # no advice to turn the check off


@pytest.mark.parametrize("loader", ["train-loop", "models.load_checkpoint", "modelio.load_model"])
def test_every_torch_load_refuses_pickled_code(tmp_path, loader):
    from edgebind import models
    from edgebind.train import modelio
    marker = tmp_path / "PWNED"
    wrap = (lambda x: {"format": modelio.FORMAT, "config": {}, "model": x}) \
        if loader == "modelio.load_model" else (lambda x: x)
    path = crafted(tmp_path / "file.pt", marker, wrap)
    load = {"train-loop": loop.load_checkpoint, "models.load_checkpoint": models.load_checkpoint,
            "modelio.load_model": modelio.load_model}[loader]
    with pytest.raises(EdgeBindError, match="posix.system") as err:
        load(path)
    assert str(path) in str(err.value) and not marker.exists()


def test_extra_state_must_load_weights_only(tmp_path, train_data):
    # A checkpoint that could not be read back safely must not be written in the first place.
    task = BindTask(tiny_model(), "depth", "vision", temperature=0.1)
    with pytest.raises(ValueError, match="extra_state.*PosixPath"):
        fit(task, ArrayDataset(dict(train_data), {}), _cfg(steps=1), tmp_path / "r",
            keys=["depth", "vision_embedding"], extra_state={"data": tmp_path})
    assert not (tmp_path / "r" / loop.CHECKPOINT).exists()


def augmented(n: int = 32) -> dict[str, np.ndarray]:
    """Vision images bound to frozen depth embeddings: training flips and crops the images
    with torch's RNG, so a resumed run matches only if the RNG state came back."""
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(n, 128)).astype(np.float32)
    return {"vision": rng.normal(size=(n, 3, 224, 224)).astype(np.float32),
            "depth_embedding": emb / np.linalg.norm(emb, axis=1, keepdims=True)}


def test_resume_restores_optimizer_schedule_and_rng(tmp_path):
    data = ArrayDataset(augmented(), {})
    keys = ["vision", "depth_embedding"]

    def task(seed):
        return BindTask(tiny_model(seed), "vision", "depth", temperature=0.1, hflip=True,
                        crop=0.7)

    full = task(0)
    fit(full, data, _cfg(), tmp_path / "a", keys=keys)
    part = task(0)
    real, stop = loop.save_checkpoint, 3

    class Stop(Exception):
        pass

    def save_then_stop(path, t, opt, sched, step, c, extra=None):
        real(path, t, opt, sched, step, c, extra)
        if step >= stop:
            raise Stop
    loop.save_checkpoint = save_then_stop
    try:
        with pytest.raises(Stop):
            fit(part, data, _cfg(checkpoint_every=3), tmp_path / "b", keys=keys)
    finally:
        loop.save_checkpoint = real
    state = loop.load_checkpoint(tmp_path / "b" / loop.CHECKPOINT)
    assert state["step"] == 3 and state["optimizer"]["state"]      # Adam moments are there
    assert state["scheduler"]["last_epoch"] == 3
    resumed = task(99)   # different weights and RNG: everything must come from the checkpoint
    torch.manual_seed(1234)
    fit(resumed, data, dataclasses.replace(_cfg(checkpoint_every=3)), tmp_path / "b", keys=keys,
        resume=True)
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
