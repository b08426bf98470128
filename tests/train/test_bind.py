"""Binding, distillation, LoRA and resume on a small synthetic problem (CPU, seconds)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgebind.train.data import ArrayDataset  # noqa: E402
from edgebind.train.loop import TrainConfig, fit, lr_factor  # noqa: E402
from edgebind.train.tasks import BindTask, DistillTask, agreement  # noqa: E402

from .conftest import class_retrieval, tiny_model  # noqa: E402

KEYS = ["depth", "vision_embedding"]


def _cfg(**kw):
    base = dict(steps=30, batch_size=32, lr=3e-3, warmup_steps=3, progress=False, threads=2,
                log_every=5, checkpoint_every=0)
    base.update(kw)
    return TrainConfig(**base)


def test_binding_learns_loss_drops_and_retrieval_improves(tmp_path, train_data, test_data):
    model = tiny_model()
    before = class_retrieval(model, test_data)
    frozen = {k: v.clone() for k, v in model.state_dict().items() if ".vision." in k}
    task = BindTask(model, "depth", "vision", temperature=0.1)
    res = fit(task, ArrayDataset(dict(train_data), {}), _cfg(), tmp_path, keys=KEYS)
    after = class_retrieval(model, test_data)
    losses = [r["loss"] for r in res.history]
    assert np.mean(losses[-2:]) < losses[0] - 0.3, losses
    assert after >= 0.8 and after > before + 0.3, (before, after)
    # the hub tower is frozen
    assert all(torch.equal(model.state_dict()[k], v) for k, v in frozen.items())
    # the run folder has the log, its CSV and PNG copies, and a checkpoint
    for name in ("metrics.jsonl", "metrics.csv", "curves.png", "checkpoint.pt"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_continues_identically(tmp_path, train_data):
    data = ArrayDataset(dict(train_data), {})
    full = tiny_model()
    fit(BindTask(full, "depth", "vision", temperature=0.1), data, _cfg(steps=6), tmp_path / "a",
        keys=KEYS)
    part = tiny_model()
    # an interrupted run: killed right after the checkpoint at step 3, then restarted
    cfg = _cfg(steps=6, checkpoint_every=3)
    _run_until(part, data, cfg, tmp_path / "b", stop=3)
    resumed = tiny_model(seed=99)  # different init: everything must come from the checkpoint
    fit(BindTask(resumed, "depth", "vision", temperature=0.1), data, cfg, tmp_path / "b",
        keys=KEYS, resume=True)
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    steps = [r["step"] for r in _rows(tmp_path / "b")]
    assert steps == sorted(set(steps)) and steps[-1] == 6


def _rows(folder):
    import json
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def _run_until(model, data, cfg, out, stop):
    """Train with ``cfg`` (its schedule spans cfg.steps) but stop after ``stop`` steps, as a
    killed process would: the checkpoint at ``stop`` is what survives."""
    import dataclasses
    from edgebind.train import loop

    class Stop(Exception):
        pass

    real = loop.save_checkpoint

    def save_then_stop(path, task, opt, sched, step, c, extra=None):
        real(path, task, opt, sched, step, c, extra)
        if step >= stop:
            raise Stop
    loop.save_checkpoint = save_then_stop
    try:
        with pytest.raises(Stop):
            fit(BindTask(model, "depth", "vision", temperature=0.1), data,
                dataclasses.replace(cfg), out, keys=KEYS)
    finally:
        loop.save_checkpoint = real


def test_lora_trains_only_adapters_and_merges(train_data, test_data):
    from edgebind.train.lora import lora_parameters, merge_lora
    model = tiny_model()
    base = {k: v.clone() for k, v in model.state_dict().items()}
    task = BindTask(model, "depth", "vision", temperature=0.1, lora_rank=4)
    trainable = {n for n, p in task.named_parameters() if p.requires_grad}
    assert trainable and all("lora_A" in n or "lora_B" in n for n in trainable), trainable
    with torch.no_grad():
        x = torch.from_numpy(test_data["depth"][:4])
        model.eval()
        start = model.embed("depth", x)
    assert torch.allclose(start, _fresh_embed(base, x), atol=1e-5)  # B = 0: same function
    fit(task, ArrayDataset(dict(train_data), {}), _cfg(steps=10), None, keys=KEYS)
    originals = {n: p for n, p in model.named_parameters() if "original" in n}
    assert originals
    for n, p in originals.items():
        key = n.replace(".parametrizations", "").replace(".original", "")
        assert torch.equal(p, base[key]), n  # frozen base weights never move
    assert any(float(p.detach().abs().sum()) > 0 for n, p in model.named_parameters() if "lora_B" in n)
    model.eval()
    with torch.no_grad():
        adapted = model.embed("depth", x)
        assert not torch.allclose(adapted, start, atol=1e-4)
        merge_lora(model)
        assert not lora_parameters(model)
        assert torch.allclose(model.embed("depth", x), adapted, atol=1e-5)
    assert set(model.state_dict()) == set(base)  # merged: plain keys again, exportable


def _fresh_embed(state, x):
    m = tiny_model()
    m.load_state_dict(state)
    m.eval()
    return m.embed("depth", x)


def test_distillation_improves_agreement(train_data, test_data):
    from edgebind import models

    from .conftest import tiny_config
    data = ArrayDataset(dict(train_data), {})
    teacher = tiny_model()  # a teacher with a meaningful space: bound for a few steps first
    fit(BindTask(teacher, "depth", "vision", temperature=0.1), data, _cfg(steps=20), None,
        keys=KEYS)
    torch.manual_seed(1)
    student = models.build(tiny_config().replace(depth_embed_dim=64, depth_num_heads=2),
                           ["depth"])

    def embed(m, x):
        m.eval()
        with torch.no_grad():
            return m.embed("depth", torch.from_numpy(x)).numpy()

    # zero-shot decisions: the nearest of the four class prototypes (the 'anchors')
    anchors = np.stack([test_data["vision_embedding"][test_data["label"] == c].mean(0)
                        for c in range(4)])
    x = test_data["depth"]
    before = agreement(embed(student, x), embed(teacher, x), anchors)
    cos_before = float(np.mean(np.sum(_n(embed(student, x)) * _n(embed(teacher, x)), 1)))
    task = DistillTask(teacher, student, "depth")
    fit(task, ArrayDataset({"depth": train_data["depth"]}, {}), _cfg(steps=60), None,
        keys=["depth"])
    after = agreement(embed(student, x), embed(teacher, x), anchors)
    cos_after = float(np.mean(np.sum(_n(embed(student, x)) * _n(embed(teacher, x)), 1)))
    assert cos_after > cos_before + 0.2, (cos_before, cos_after)
    assert after > before + 0.2 and after >= 0.8, (before, after)


def _n(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_schedule_warms_up_then_decays():
    cfg = TrainConfig(steps=100, warmup_steps=10, min_lr_ratio=0.1)
    f = [lr_factor(s, cfg) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:]))
    assert f[-1] == pytest.approx(0.1, abs=0.01)


def test_bad_task_and_config_are_refused():
    model = tiny_model()
    with pytest.raises(ValueError, match="no audio tower"):
        BindTask(model, "audio", "vision")
    with pytest.raises(ValueError, match="itself"):
        BindTask(model, "vision", "vision")
    with pytest.raises(ValueError, match="temperature"):
        BindTask(model, "depth", "vision", temperature="warm")
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0).validate()
    with pytest.raises(ValueError, match="divisible"):
        fit(BindTask(model, "depth", "vision"), ArrayDataset({"depth": np.zeros((8, 1, 224, 224),
            np.float32), "vision_embedding": np.ones((8, 128), np.float32)}, {}),
            TrainConfig(steps=1, batch_size=5, accum_steps=2, progress=False), None, keys=KEYS)


def test_nan_input_is_a_clear_error():
    model = tiny_model()
    bad = np.full((8, 1, 224, 224), np.nan, np.float32)
    data = ArrayDataset({"depth": bad, "vision_embedding": np.ones((8, 128), np.float32)}, {})
    with pytest.raises(ValueError, match="NaN"):
        fit(BindTask(model, "depth", "vision"), data,
            TrainConfig(steps=1, batch_size=8, progress=False), None, keys=KEYS)


def test_training_leaves_the_callers_floating_point_state_alone():
    # fit() flushes denormals while it trains (fast Adam); afterwards the calling thread must
    # still have subnormal floats, or numpy/hypothesis code run after training changes meaning.
    import numpy as np
    import torch

    from edgebind.train.loop import _denormals_flushed
    tiny = float(np.float64(2.2250738585072014e-308))   # the smallest normal double
    assert tiny / 2.0 > 0
    with _denormals_flushed():
        assert torch.tensor([1e-40], dtype=torch.float32).mul(1.0).item() == 0.0   # flushed
    assert tiny / 2.0 > 0 and torch.tensor([1e-40]).mul(1.0).item() > 0
