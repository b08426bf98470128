"""The training loop shared by every task: AdamW with warm-up and cosine decay, gradient
accumulation, optional mixed precision, DDP, a progress bar, the metrics log, and checkpoints
that resume exactly (model, optimizer, schedule, RNG; batches are a function of the step)."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch
from torch import nn

from edgebind.train import dist as dist_mod
from edgebind.train.data import ArrayDataset, global_batch, micro_batches
from edgebind.train.metrics import MetricsLog

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """``batch_size`` is the global batch of one optimizer step (all processes x accumulation)."""

    steps: int = 500
    batch_size: int = 64
    accum_steps: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 20
    min_lr_ratio: float = 0.02
    grad_clip: float | None = 1.0
    amp: str = "auto"          # auto (bf16 on a GPU that has it, else off) | off | bf16 | fp16
    device: str = "auto"       # auto | cpu | cuda
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 100  # 0: only at the end
    progress: bool = True
    threads: int | None = None

    def validate(self) -> None:
        for name in ("steps", "batch_size", "accum_steps", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.warmup_steps < 0 or self.checkpoint_every < 0:
            raise ValueError("warmup_steps and checkpoint_every must be >= 0")
        if self.amp not in ("auto", "off", "bf16", "fp16"):
            raise ValueError(f"amp must be auto, off, bf16 or fp16, got {self.amp!r}")


@dataclass
class TrainResult:
    step: int
    loss: float
    metrics: dict[str, float]
    seconds: float
    out_dir: Path | None
    history: list[dict[str, Any]] = field(default_factory=list)


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to 1, then cosine down to ``min_lr_ratio`` at the last step."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    t = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def make_optimizer(task: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for _, p in task.named_parameters():
        if p.requires_grad:
            # Matrices decay; norms, biases, tokens and scales do not.
            (decay if p.ndim >= 2 else no_decay).append(p)
    if not decay and not no_decay:
        raise ValueError("the task has no trainable parameters")
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr, betas=(0.9, 0.98),
                             eps=1e-6)


def _device(cfg: TrainConfig, info: dist_mod.DistInfo) -> torch.device:
    if cfg.device == "auto":
        return torch.device(f"cuda:{info.local_rank}" if torch.cuda.is_available() else "cpu")
    return torch.device(cfg.device)


def _autocast(cfg: TrainConfig, device: torch.device):
    mode = cfg.amp
    if mode == "auto":
        mode = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "off"
    if mode == "off":
        return contextlib.nullcontext, None
    dtype = torch.bfloat16 if mode == "bf16" else torch.float16
    scaler = torch.amp.GradScaler(device.type) if mode == "fp16" else None
    return (lambda: torch.autocast(device.type, dtype=dtype)), scaler


def to_tensors(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in batch.items()}


def save_checkpoint(path: Path, task: nn.Module, opt, sched, step: int, cfg: TrainConfig,
                    extra: dict[str, Any] | None = None) -> None:
    state = {"format": "edgebind.train-checkpoint/1", "step": step,
             "task": task.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "config": dataclasses.asdict(cfg),
             "rng": {"torch": torch.get_rng_state(),
                     "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
             "extra": extra or {}}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # never a half-written checkpoint under the real name


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by ``save_checkpoint``, read weights-only: a run folder is not
    trusted to hold code (every value in the state is a tensor or plain data)."""
    from edgebind.models import CheckpointError, torch_load
    try:
        state = torch_load(path)
    except CheckpointError:
        raise
    except Exception as err:  # noqa: BLE001 - torch raises many types for bad files
        raise CheckpointError(f"cannot read training checkpoint {path}: {err}") from err
    if not isinstance(state, dict) or state.get("format") != "edgebind.train-checkpoint/1":
        raise CheckpointError(f"{path} is not an edgebind training checkpoint")
    return state


def _check_extra_state(extra: dict[str, Any] | None) -> None:
    """Refuse up front what would make the checkpoint unloadable weights-only."""
    from edgebind.models import CheckpointError, torch_load
    buf = io.BytesIO()
    torch.save(extra or {}, buf)
    buf.seek(0)
    try:
        torch_load(buf, name="extra_state")
    except CheckpointError as err:
        raise ValueError(f"extra_state must hold only tensors and plain data (dict, list, "
                         f"tuple, str, int, float, bool, None) so that checkpoints load "
                         f"weights-only: {err}") from None


def fit(task: nn.Module, data: ArrayDataset, cfg: TrainConfig, out_dir: str | Path | None = None,
        *, resume: bool = False, keys: Iterable[str] | None = None, label: str = "train",
        extra_state: dict[str, Any] | None = None) -> TrainResult:
    """Train ``task`` on ``data`` for ``cfg.steps`` optimizer steps.

    ``out_dir`` receives ``metrics.jsonl``/``.csv``, ``curves.png`` and ``checkpoint.pt`` (none
    of it when None). ``resume`` continues from ``out_dir/checkpoint.pt`` when it exists and
    gives the same weights as an uninterrupted run. Under ``torchrun`` each process trains its
    share of every global batch and DDP averages the gradients.
    """
    with _denormals_flushed():
        return _fit(task, data, cfg, out_dir, resume=resume, keys=keys, label=label,
                    extra_state=extra_state)


@contextlib.contextmanager
def _denormals_flushed() -> Iterator[None]:
    # Decaying Adam moments must not crawl through denormals; but flush-to-zero is CPU state
    # of the calling thread, and code that trains a model must not find its own numerics
    # changed afterwards (subnormal floats vanish: numpy, hypothesis), so it is turned off again.
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _fit(task: nn.Module, data: ArrayDataset, cfg: TrainConfig, out_dir: str | Path | None,
         *, resume: bool, keys: Iterable[str] | None, label: str,
         extra_state: dict[str, Any] | None) -> TrainResult:
    cfg.validate()
    _check_extra_state(extra_state)
    info = dist_mod.init()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = _device(cfg, info)
    keys = list(keys) if keys is not None else data.keys()
    torch.manual_seed(cfg.seed + 1000 * info.rank)
    task.to(device)
    opt = make_optimizer(task, cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg))
    out = Path(out_dir) if out_dir is not None else None
    ckpt = out / CHECKPOINT if out is not None else None
    log = MetricsLog(out, enabled=out is not None and info.main) if out is not None else None
    start = _start(ckpt if resume else None, task, opt, sched, log, out, info)
    model = dist_mod.wrap(task, info)
    autocast, scaler = _autocast(cfg, device)
    params = [p for p in task.parameters() if p.requires_grad]
    bar = _progress(cfg, info, start, label)
    t0, samples = time.perf_counter(), 0
    loss_v, metrics = float("nan"), {}
    model.train()
    for step in range(start, cfg.steps):
        sums, m, n = _accumulate(model, data, keys, step, cfg, info, device, autocast, scaler)
        samples += n
        if not math.isfinite(sums["loss"]):
            raise RuntimeError(f"{label}: the loss became {sums.get('loss')} at step {step}; "
                               "lower the learning rate or check the inputs for NaN")
        _optimizer_step(opt, sched, scaler, params, cfg, sums)
        loss_v, metrics, done = sums["loss"], sums, step + 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_v:.3f}", **{k: f"{v:.2f}" for k, v in m.items()})
        if log is not None and (done % cfg.log_every == 0 or done in (cfg.steps, start + 1)):
            dt = time.perf_counter() - t0
            log.log(done, {**sums, "time_s": round(dt, 2),
                           "samples_per_s": round(samples * info.world_size / max(dt, 1e-9), 1)})
        if ckpt is not None and ((cfg.checkpoint_every and done % cfg.checkpoint_every == 0)
                                 or done == cfg.steps):
            if info.main:
                save_checkpoint(ckpt, task, opt, sched, done, cfg, extra_state)
            dist_mod.barrier(info)
    if bar is not None:
        bar.close()
    history = log.rows() if log is not None else []
    if log is not None:
        log.finish()
    return TrainResult(cfg.steps, loss_v, metrics, time.perf_counter() - t0, out, history)


def _start(ckpt: Path | None, task: nn.Module, opt, sched, log: MetricsLog | None,
           out: Path | None, info: dist_mod.DistInfo) -> int:
    """The first step: the checkpoint's (task, optimizer, schedule and RNG restored) when
    ``ckpt`` exists, else 0 with a fresh metrics log."""
    if ckpt is not None and ckpt.is_file():
        state = load_checkpoint(ckpt)
        task.load_state_dict(state["task"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        start = int(state["step"])
        if log is not None:
            log.truncate(start)
        return start
    if out is not None and info.main:
        out.mkdir(parents=True, exist_ok=True)
        if log is not None and log.path.exists():
            log.path.unlink()
    return 0


def _accumulate(model: nn.Module, data: ArrayDataset, keys: list[str], step: int,
                cfg: TrainConfig, info: dist_mod.DistInfo, device: torch.device, autocast,
                scaler) -> tuple[dict[str, float], dict[str, Any], int]:
    """Forward and backward of this process's share of one global batch, in ``accum_steps``
    micro-batches (DDP syncs gradients on the last). Returns (loss and metrics averaged over
    the micro-batches, the task's last metrics, samples seen)."""
    idx = global_batch(len(data), cfg.batch_size, step, cfg.seed)
    parts = micro_batches(idx, info.world_size, info.rank, cfg.accum_steps)
    sums: dict[str, float] = {}
    m: dict[str, Any] = {}
    samples = 0
    for j, part in enumerate(parts):
        batch = to_tensors(data.take(part, keys), device)
        sync = (j == len(parts) - 1) or not info.active
        with (contextlib.nullcontext() if sync else model.no_sync()):
            with autocast():
                loss, m = model(batch)
            scaled = loss / len(parts)
            (scaler.scale(scaled) if scaler else scaled).backward()
        for k, v in {"loss": float(loss.detach()), **m}.items():
            sums[k] = sums.get(k, 0.0) + float(v) / len(parts)
        samples += len(part)
    return sums, m, samples


def _optimizer_step(opt, sched, scaler, params: list, cfg: TrainConfig,
                    sums: dict[str, float]) -> None:
    """Clip, step, zero the gradients and advance the schedule; records grad_norm and lr."""
    if scaler:
        scaler.unscale_(opt)
    if cfg.grad_clip:
        sums["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip))
    (scaler.step(opt), scaler.update()) if scaler else opt.step()
    opt.zero_grad(set_to_none=True)
    sums["lr"] = opt.param_groups[0]["lr"]
    sched.step()


def _progress(cfg: TrainConfig, info: dist_mod.DistInfo, start: int, label: str):
    # A bar only on a terminal (or EDGEBIND_PROGRESS=1): in logs the metrics log says it all.
    from edgebind.progress import tqdm_bar
    return tqdm_bar(cfg.progress and info.main, total=cfg.steps, initial=start, desc=label,
                    unit="step", dynamic_ncols=True, mininterval=0.5)
