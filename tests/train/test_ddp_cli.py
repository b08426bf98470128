"""The command line: --help, bad arguments, and a real two-process DDP run (torchrun, gloo)
whose weights match one process averaging the same two shards' gradients."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgebind.cli import main  # noqa: E402
from edgebind.train.data import ArrayDataset, global_batch, micro_batches, save_cache  # noqa: E402

from .conftest import synthetic, tiny_model  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_explains(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "bind" in out and "distill" in out and "torchrun" in out
    with pytest.raises(SystemExit):
        main(["train", "bind", "--help"])
    out = capsys.readouterr().out
    assert "--temperature" in out and "--lora-rank" in out and "--resume" in out
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "supervised" in capsys.readouterr().out


def test_bad_arguments_give_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "bind", "--data", "x", "--out", str(tmp_path)])  # no --modality
    assert e.value.code == 2
    assert main(["train", "bind", "--modality", "imu", "--data", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "run")]) == 1
    assert "not a cache folder" in capsys.readouterr().err
    assert main(["train", "bind", "--modality", "imu", "--data", "sim:abc", "--out",
                 str(tmp_path / "run")]) == 1
    assert "sim:N" in capsys.readouterr().err
    assert main(["train", "bind", "--modality", "imu", "--data", "x", "--out", str(tmp_path),
                 "--temperature", "hot"]) == 1
    assert "--temperature" in capsys.readouterr().err
    assert main(["train", "bind", "--modality", "imu", "--data", "x", "--out", str(tmp_path),
                 "--steps", "0"]) == 1
    assert "steps" in capsys.readouterr().err
    assert main(["eval", "--n", "3"]) == 1
    assert "--n" in capsys.readouterr().err


def test_data_without_the_modality_is_refused(tmp_path, capsys):
    d = synthetic(8)
    save_cache(tmp_path / "cache", d, {})
    model = tiny_model()
    from edgebind.train.modelio import save_model
    save_model(model, tmp_path / "init.pt")
    rc = main(["train", "bind", "--init", str(tmp_path / "init.pt"), "--modality", "audio",
               "--data", str(tmp_path / "cache"), "--out", str(tmp_path / "run"), "--quiet"])
    assert rc == 1 and "no 'audio' inputs" in capsys.readouterr().err


def test_micro_batches_partition_the_global_batch():
    idx = global_batch(50, 16, step=7, seed=3)
    assert len(idx) == 16 and np.array_equal(idx, global_batch(50, 16, step=7, seed=3))
    two_procs = [micro_batches(idx, 2, r, 1)[0] for r in range(2)]
    one_proc = micro_batches(idx, 1, 0, 2)
    for a, b in zip(two_procs, one_proc):
        assert np.array_equal(a, b)
    # every epoch visits each sample once
    seen = np.concatenate([global_batch(50, 10, s, 0) for s in range(5)])
    assert sorted(seen) == list(range(50))


@pytest.mark.slow
def test_ddp_two_processes_match_single_process(tmp_path):
    from edgebind.train.loop import TrainConfig, fit
    from edgebind.train.modelio import load_model, save_model
    from edgebind.train.tasks import BindTask

    data = synthetic(64, seed=5)
    save_cache(tmp_path / "cache", data, {"source": "test"})
    save_model(tiny_model(), tmp_path / "init.pt")
    args = ["--init", str(tmp_path / "init.pt"), "--modality", "depth", "--data",
            str(tmp_path / "cache"), "--steps", "3", "--batch-size", "16", "--lr", "3e-3",
            "--warmup", "1", "--temperature", "0.1", "--threads", "1", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-port", str(_free_port()), "-m", "edgebind.cli", "train", "bind",
           *args, "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = load_model(tmp_path / "ddp" / "model.pt")

    # one process, accumulation 2: the same two shards per step, gradients averaged
    single = load_model(tmp_path / "init.pt")
    cfg = TrainConfig(steps=3, batch_size=16, accum_steps=2, lr=3e-3, warmup_steps=1,
                      threads=1, progress=False)
    fit(BindTask(single, "depth", "vision", temperature=0.1),
        ArrayDataset(dict(data), {}), cfg, None, keys=["depth", "vision_embedding"])
    init = load_model(tmp_path / "init.pt").state_dict()
    moved = 0
    for k, v in single.state_dict().items():
        torch.testing.assert_close(ddp.state_dict()[k], v, rtol=1e-4, atol=2e-5, msg=k)
        moved += not torch.equal(v, init[k])
    assert moved > 5  # the comparison is about trained weights, not two untouched copies
