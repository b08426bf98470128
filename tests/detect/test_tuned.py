"""Tuned-detector files: which one applies (``detector.json`` beside the anchors), that it fits
the bundle's space and the very anchors it was tuned with, and how explicit settings and
thresholds lay over it. Real files, real AnchorSet round trips, real Detectors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgebind.anchors import Anchor, AnchorSet
from edgebind.detect import DetectorConfig
from edgebind.detect.config import DetectorConfigError
from edgebind.detect.tuned import (build_detector, check_fits, fingerprint, locate, read_tuned,
                                   save_tuned)
from tests.detect.test_detector import SPACE, basis, emb, make_set

TUNED = {"detector": DetectorConfig(ema_alpha=0.5, modality_weights={"audio": 3.0},
                                    use_anchor_thresholds=False).to_dict(),
         "thresholds": {"glass": 0.31, "dog": 0.42},
         "score": {"precision": 1.0, "recall": 1.0}}


@pytest.fixture
def tuned_dir(tmp_path):
    """anchors.json with its detector.json beside it, as the default assets ship them."""
    aset = make_set()
    aset.save(tmp_path / "anchors.json")
    save_tuned(tmp_path / "detector.json", TUNED, SPACE, {"scenario": "demo"}, anchors=aset)
    return tmp_path


def test_locate_finds_the_file_beside_the_anchors(tuned_dir, tmp_path_factory):
    assert locate(None, tuned_dir / "anchors.json") == tuned_dir / "detector.json"
    assert locate(False, tuned_dir / "anchors.json") is None
    assert locate(str(tuned_dir / "x.json"), tuned_dir / "anchors.json") == tuned_dir / "x.json"
    lonely = tmp_path_factory.mktemp("lonely")
    assert locate(None, lonely / "anchors.json") is None
    with pytest.raises(DetectorConfigError, match="expected a file path"):
        locate(3, tuned_dir / "anchors.json")


def test_file_records_the_anchors_and_fits_them_after_a_round_trip(tuned_dir):
    tuned = read_tuned(tuned_dir / "detector.json")
    loaded = AnchorSet.load(tuned_dir / "anchors.json")
    assert tuned.anchors == {a.name: fingerprint(a) for a in loaded}
    check_fits(tuned, SPACE, loaded)                     # same vectors: no complaint
    with pytest.raises(DetectorConfigError, match="retune it for this bundle"):
        check_fits(tuned, "ebs1-other00000000000000", loaded)


def test_stale_file_beside_rebuilt_anchors_is_refused(tuned_dir):
    rebuilt = make_set()
    rebuilt.anchors[1].embeddings["default"] = (basis(1) + basis(3)) / np.sqrt(2)
    rebuilt.save(tuned_dir / "anchors.json")             # dog reworded; detector.json not retuned
    with pytest.raises(DetectorConfigError) as err:
        build_detector(AnchorSet.load(tuned_dir / "anchors.json"), tuned_dir / "anchors.json",
                       space_id=SPACE)
    msg = str(err.value)
    assert "detector.json" in msg and "dog" in msg and "glass" not in msg and "retune" in msg
    # without the file (choice False) the same anchors build a detector with the defaults
    det, used = build_detector(AnchorSet.load(tuned_dir / "anchors.json"),
                               tuned_dir / "anchors.json", choice=False)
    assert used is None and det.levels == {"glass": 0.25, "dog": 0.25}


def test_tuned_settings_and_levels_apply_and_explicit_ones_win(tuned_dir):
    aset = AnchorSet.load(tuned_dir / "anchors.json")
    det, used = build_detector(aset, tuned_dir / "anchors.json", space_id=SPACE)
    assert used is not None and used.path == tuned_dir / "detector.json"
    assert det.config.ema_alpha == 0.5 and det.config.modality_weights == {"audio": 3.0}
    assert det.levels == {"glass": 0.31, "dog": 0.42}
    # a [detector]-style mapping replaces only its keys; thresholds lay over in order
    det, _ = build_detector(aset, tuned_dir / "anchors.json", settings={"hysteresis": 0.1},
                            thresholds=[{"glass": 0.2}, {"glass": 0.35}, None])
    assert det.config.hysteresis == 0.1 and det.config.ema_alpha == 0.5
    assert det.levels == {"glass": 0.35, "dog": 0.42}
    # a whole DetectorConfig replaces the tuned settings; levels of its mode still apply
    det, _ = build_detector(aset, tuned_dir / "anchors.json", settings=DetectorConfig())
    assert det.config.ema_alpha == DetectorConfig().ema_alpha and det.levels["dog"] == 0.42
    # another decision mode: the file's levels are for thresholds, so they are left out
    det, _ = build_detector(aset, tuned_dir / "anchors.json", settings={"decision": "margin"})
    assert det.levels == {"glass": DetectorConfig().margin, "dog": DetectorConfig().margin}


def test_the_tuned_levels_decide_events(tuned_dir):
    # glass at cosine 0.28 (below its tuned 0.31, above the default 0.25); dog at 0.45
    aset = AnchorSet.load(tuned_dir / "anchors.json")
    window = {"audio": emb(0.28, 0.45, 0.1)}

    def fired(det):
        return {e.name for e in det.update(0, 2_000_000_000, window) if e.state == "start"}

    tuned, _ = build_detector(aset, tuned_dir / "anchors.json")
    plain, _ = build_detector(aset, tuned_dir / "anchors.json", choice=False)
    assert fired(tuned) == {"dog"} and fired(plain) == {"glass", "dog"}


def test_files_without_an_anchor_record_apply_by_name(tuned_dir):
    doc = json.loads((tuned_dir / "detector.json").read_text())
    del doc["anchors"]                                   # files written before the record
    (tuned_dir / "detector.json").write_text(json.dumps(doc))
    other = AnchorSet(SPACE, 16, [Anchor("dog", {"default": basis(5)})])
    det, used = build_detector(other, tuned_dir / "anchors.json")
    assert used.anchors is None and det.levels == {"dog": 0.42}


@pytest.mark.parametrize("edit, needle", [
    (lambda d: d.update(anchors=["glass"]), "anchors: expected a table"),
    (lambda d: d.update(space_id=7), "space_id: expected a string"),
    (lambda d: d.update(format="edgebind.detector/9"), "expected format"),
    (lambda d: d["detector"].update(decision="vote"), "decision"),
    (lambda d: d["thresholds"].update(dog=1.5), "thresholds"),
])
def test_bad_files_name_the_file_and_key(tuned_dir, edit, needle):
    doc = json.loads((tuned_dir / "detector.json").read_text())
    edit(doc)
    (tuned_dir / "detector.json").write_text(json.dumps(doc))
    with pytest.raises(DetectorConfigError, match=needle) as err:
        build_detector(make_set(), tuned_dir / "anchors.json")
    assert str(tuned_dir / "detector.json") in str(err.value)
