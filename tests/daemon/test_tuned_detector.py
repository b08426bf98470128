"""The daemon's ``tuned_detector`` key: the detector.json beside the anchors by default, a named
file, or false; ``[detector]`` and ``[thresholds]`` over it; every mistake names the config file,
the key and the detector file."""
from __future__ import annotations

import textwrap

import pytest

from edgebind.daemon.config import ConfigError, load_config
from edgebind.daemon.service import detection_parts
from edgebind.detect import DetectorConfig
from edgebind.detect.tuned import save_tuned
from tests.detect.test_detector import SPACE, make_set

TUNED = {"detector": DetectorConfig(ema_alpha=0.5, use_anchor_thresholds=False).to_dict(),
         "thresholds": {"glass": 0.31, "dog": 0.42}, "score": {}}
STREAM = '[[streams]]\nname = "sim"\nkind = "sim"\nscenario = "demo"\ndifficulty = 0.5\n'


def setup(tmp_path, body: str = "", tuned=TUNED):
    make_set().save(tmp_path / "anchors.json")
    if tuned is not None:
        save_tuned(tmp_path / "detector.json", tuned, SPACE, {}, anchors=make_set())
    path = tmp_path / "edgebind.toml"
    path.write_text('anchors = "anchors.json"\n' + textwrap.dedent(body) + "\n" + STREAM)
    return path


def parts(path):
    _, _, det, used = detection_parts(load_config(path), SPACE)
    return det, used


def test_default_is_the_detector_json_beside_the_anchors(tmp_path):
    det, used = parts(setup(tmp_path))
    assert used == tmp_path / "detector.json"
    assert det.config.ema_alpha == 0.5 and det.levels == {"glass": 0.31, "dog": 0.42}
    assert load_config(setup(tmp_path)).streams[0].options["difficulty"] == 0.5


def test_detector_table_and_thresholds_lay_over_the_tuned_file(tmp_path):
    det, _ = parts(setup(tmp_path, """
        [detector]
        hysteresis = 0.1
        [thresholds]
        dog = 0.5
        """))
    assert det.config.hysteresis == 0.1 and det.config.ema_alpha == 0.5
    assert det.levels == {"glass": 0.31, "dog": 0.5}


def test_false_turns_it_off_and_a_path_names_another(tmp_path):
    det, used = parts(setup(tmp_path, "tuned_detector = false"))
    assert used is None and det.config == DetectorConfig() and det.levels["dog"] == 0.25
    other = {**TUNED, "thresholds": {"dog": 0.6}}
    save_tuned(tmp_path / "night.json", other, SPACE, {}, anchors=make_set())
    det, used = parts(setup(tmp_path, 'tuned_detector = "night.json"'))
    assert used == tmp_path / "night.json" and det.levels == {"glass": 0.25, "dog": 0.6}


def test_thresholds_are_checked_in_the_tuned_files_decision_mode(tmp_path):
    margin = {**TUNED, "detector": DetectorConfig(decision="margin").to_dict(),
              "thresholds": {"dog": 0.2}}
    # 1.5 is a valid margin level (not a valid cosine): allowed because the file runs margins
    det, _ = parts(setup(tmp_path, "[thresholds]\nglass = 1.5", tuned=margin))
    assert det.config.decision == "margin" and det.levels == {"glass": 1.5, "dog": 0.2}
    with pytest.raises(ConfigError, match=r"thresholds.glass: expected a number in \[-1, 1\]"):
        load_config(setup(tmp_path, "tuned_detector = false\n[thresholds]\nglass = 1.5",
                          tuned=margin))


@pytest.mark.parametrize("body, needles", [
    ("tuned_detector = 3", ["tuned_detector: expected a path (string) or false"]),
    ("tuned_detector = true", ["tuned_detector: expected a path (string) or false"]),
    ('tuned_detector = "missing.json"', ["tuned_detector:", "missing.json",
                                          "not a readable tuned-detector file"]),
])
def test_bad_values_name_the_config_key(tmp_path, body, needles):
    path = setup(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        parts(path)
    assert str(path) in str(err.value)
    for n in needles:
        assert n in str(err.value)


def test_a_broken_default_file_names_the_key_and_the_file(tmp_path):
    path = setup(tmp_path)
    (tmp_path / "detector.json").write_text('{"format": "edgebind.detector/1", "detector": 3}')
    with pytest.raises(ConfigError) as err:
        parts(path)
    msg = str(err.value)
    assert str(path) in msg and "tuned_detector (default: the detector.json beside the " \
        "anchors)" in msg and str(tmp_path / "detector.json") in msg


def test_stale_or_foreign_files_are_refused(tmp_path):
    path = setup(tmp_path)
    other = make_set()
    other.anchors[0].embeddings["default"] = other.anchors[0].embeddings["default"] * -1
    other.save(tmp_path / "anchors.json")                 # glass rebuilt; the file not retuned
    with pytest.raises(ConfigError, match="glass changed since") as err:
        parts(path)
    assert str(path) in str(err.value) and "detector.json" in str(err.value)
    path = setup(tmp_path)
    save_tuned(tmp_path / "detector.json", TUNED, "ebs1-other00000000000000", {})
    with pytest.raises(ConfigError, match="tuned for embedding space 'ebs1-other0+', but the "
                                          "bundle is ebs1-test0+1; retune it for this bundle"):
        parts(path)
