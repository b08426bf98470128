"""The command lines follow argparse's conventions alike (``edgebind`` and ``edgebind-calibrate``):
``--version`` and ``--help`` on stdout with status 0; no command is a usage error (stderr, 2);
a command's run-time errors are named as argparse names its usage errors; progress bars only on
a terminal; ``--json`` prints one JSON document and nothing else; the demo's detection bars lie
inside their panels."""
from __future__ import annotations

import argparse
import io
import json

import pytest

from edgebind import cli, progress
from edgebind.calibration import cli as calibrate
from tests.conftest import REPO

MAINS = {"edgebind": cli.main, "edgebind-calibrate": calibrate.main}


@pytest.mark.parametrize("prog", sorted(MAINS))
def test_version_prints_on_stdout_and_exits_0(prog, capsys):
    with pytest.raises(SystemExit) as exc:
        MAINS[prog](["--version"])
    out, err = capsys.readouterr()
    from edgebind import __version__
    assert exc.value.code == 0 and out == f"{prog} {__version__}\n" and err == ""


@pytest.mark.parametrize("prog", sorted(MAINS))
def test_no_command_is_a_usage_error_on_stderr(prog, capsys):
    with pytest.raises(SystemExit) as exc:
        MAINS[prog]([])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert err.startswith(f"usage: {prog} ") and f"\n{prog}: error: " in err


def leaf_parsers(parser: argparse.ArgumentParser):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
    for action in subs:
        for p in action.choices.values():
            yield from leaf_parsers(p)


def test_every_command_names_itself_as_argparse_does(capsys):
    leaves = [*leaf_parsers(cli.build_parser()), *leaf_parsers(calibrate.build_parser())]
    assert len(leaves) > 25
    for p in leaves:
        assert p.get_default("_prog") == p.prog
        with pytest.raises(SystemExit):
            p.parse_args(["--no-such-option"])
        assert f"\n{p.prog}: error: " in capsys.readouterr().err


@pytest.mark.parametrize("main, argv, prog", [
    (cli.main, ["anchors", "show", "/nonexistent/anchors.json"], "edgebind anchors show"),
    (cli.main, ["run", "--config", "/nonexistent.toml"], "edgebind run"),
    (calibrate.main, ["imu", "--recording", "/nonexistent.mcap", "--profile", "/tmp/p.json"],
     "edgebind-calibrate imu"),
    (cli.main, ["calibrate", "imu", "--recording", "/nonexistent.mcap", "--profile",
                "/tmp/p.json"], "edgebind calibrate imu"),
])
def test_usage_and_run_time_errors_share_the_prefix(main, argv, prog, capsys, monkeypatch):
    monkeypatch.delenv("EDGEBIND_DEBUG", raising=False)
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"{prog}: error: ") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--no-such-option"])
    assert exc.value.code == 2
    assert f"\n{prog}: error: unrecognized arguments" in capsys.readouterr().err


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty, env, enabled, drawn", [
    (False, None, True, False), (True, None, True, True), (False, "1", True, True),
    (True, "0", True, False), (True, None, False, False), (False, "1", False, False)])
def test_progress_bars_only_on_a_terminal_unless_forced(tty, env, enabled, drawn, monkeypatch):
    pytest.importorskip("tqdm")
    stderr = Tty() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    if env is None:
        monkeypatch.delenv("EDGEBIND_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("EDGEBIND_PROGRESS", env)
    assert progress.bars_wanted(enabled) is drawn
    with progress.Counter(3, "clips", "clip", enabled=enabled) as bar:
        for _ in range(3):
            bar.update()
    assert ("3/3" in stderr.getvalue()) is drawn


def test_steps_write_plain_lines_into_a_log(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    monkeypatch.delenv("EDGEBIND_PROGRESS", raising=False)
    steps = progress.Steps(2, "export")
    for what in ("a", "b"):
        with steps.step(what):
            pass
    steps.close()
    assert "\r" not in log.getvalue() and "[export 2/2] b:" in log.getvalue()


def test_training_bar_only_on_a_terminal(monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("tqdm")
    from edgebind.train import dist, loop
    info = dist.DistInfo()
    cfg = loop.TrainConfig(steps=5)
    monkeypatch.delenv("EDGEBIND_PROGRESS", raising=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert loop._progress(cfg, info, 0, "train") is None
    monkeypatch.setattr("sys.stderr", Tty())
    bar = loop._progress(cfg, info, 0, "train")
    assert bar is not None
    bar.close()


@pytest.mark.parametrize("what", ["events", "scenarios"])
def test_sim_lists_as_json(what, capsys):
    from edgebind.sim import EVENTS, SCENARIOS
    assert cli.main(["sim", what, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc[what]) == list(EVENTS if what == "events" else SCENARIOS)
    assert cli.main(["sim", what]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [x.split()[0] for x in lines] == list(doc[what])


def test_run_check_json_says_what_the_text_says(capsys):
    from edgebind.daemon.checking import format_check
    config = str(REPO / "examples" / "edgebind.toml")
    assert cli.main(["run", "--config", config, "--check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["streams"] == ["sim"]
    assert cli.main(["run", "--config", config, "--check"]) == 0
    assert capsys.readouterr().out == format_check(report) + "\n"


def test_demo_detection_bars_lie_inside_their_panels():
    import numpy as np
    from edgebind.tools.timeline import timeline_figure
    t = list(np.arange(0, 10, 0.5))
    scores = {"a": [0.9] * len(t), "b": list(np.linspace(0, 1, len(t)))}
    fig = timeline_figure(["a", "b"], t, scores, {"a": 0.5}, [("a", 1, 3)],
                          [("a", 1.2, 3.5), ("b", 6.0, 6.0)], "test")
    fig.canvas.draw()
    bars = 0
    for ax in fig.axes:
        box = ax.get_window_extent()
        for artist in ax.collections:
            if artist.get_gid() != "detected":
                continue
            for path in artist.get_paths():
                xy = artist.get_transform().transform(path.vertices)
                assert box.y0 <= xy[:, 1].min() and xy[:, 1].max() <= box.y1, (xy, box)
                assert xy[:, 1].max() - xy[:, 1].min() >= 5         # visible: >= 5 pixels
                bars += 1
    assert bars == 2
