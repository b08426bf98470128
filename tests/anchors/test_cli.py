"""`edgebind anchors build/show` on a real exported bundle (ONNX Runtime), also without torch."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgebind.anchors import AnchorSet
from edgebind.cli import main
from edgebind.space import SpaceMismatchError
from tests.conftest import REPO

PROMPTS = """
modalities = ["audio"]
[[anchor]]
name = "glass_breaking"
prompts = ["glass breaking", "a window shattering"]
threshold = 0.3
[[anchor]]
name = "quiet"
prompts = ["a quiet room"]
background = true
[[anchor]]
name = "glass_not_quiet"
compose = [{anchor = "glass_breaking", weight = 1.0}, {anchor = "quiet", weight = -0.5}]
"""


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_build_with_the_bundle_text_tower(text_bundle, tmp_path, capsys):
    bundle, space = text_bundle
    (tmp_path / "p.toml").write_text(PROMPTS)
    out = tmp_path / "anchors.json"
    rc = main(["anchors", "build", "--bundle", str(bundle), "--prompts", str(tmp_path / "p.toml"),
               "--out", str(out)])
    assert rc == 0
    assert "3 anchors (2 events, 1 background)" in capsys.readouterr().out
    aset = AnchorSet.load(out, space_id=space)
    assert aset.space_id == space and aset.dim == 128
    from edgebind import Embedder
    e = Embedder.from_bundle(bundle)
    plain = unit(e.embed(text=["glass breaking", "a window shattering"])["text"].astype(np.float64))
    np.testing.assert_allclose(aset["glass_breaking"].embeddings["default"], unit(plain.mean(0)), atol=1e-5)
    sounds = unit(e.embed(text=[t.replace("{}", p) for t in ("the sound of {}.", "a recording of {}.",
                                                              "{} can be heard.")
                                for p in ("glass breaking", "a window shattering")])["text"].astype(np.float64))
    np.testing.assert_allclose(aset["glass_breaking"].embeddings["audio"], unit(sounds.mean(0)), atol=1e-5)
    assert set(aset["glass_breaking"].embeddings) == {"default", "audio"}
    # refused against another space; `show` reports and checks against the bundle
    with pytest.raises(SpaceMismatchError):
        AnchorSet.load(out, space_id="ebs1-00000000000000000000")
    assert main(["anchors", "show", str(out), "--bundle", str(bundle)]) == 0
    shown = capsys.readouterr().out
    assert "glass_breaking" in shown and "background" in shown and "closest pair" in shown
    # an existing output is not overwritten without --force
    assert main(["anchors", "build", "--bundle", str(bundle), "--prompts", str(tmp_path / "p.toml"),
                 "--out", str(out)]) == 1
    assert "--force" in capsys.readouterr().err


def test_show_refuses_a_set_from_another_bundle_space(text_bundle, tmp_path, capsys):
    bundle, space = text_bundle
    other = AnchorSet(space_id="ebs1-11111111111111111111", dim=128)
    from edgebind.anchors import Anchor
    other.add(Anchor("x", {"default": np.ones(128)}))
    other.save(tmp_path / "other.json")
    assert main(["anchors", "show", str(tmp_path / "other.json"), "--bundle", str(bundle)]) == 1
    assert "embedding spaces differ" in capsys.readouterr().err


def test_build_and_detect_without_torch(text_bundle, tmp_path):
    bundle, space = text_bundle
    (tmp_path / "p.toml").write_text(PROMPTS)
    code = textwrap.dedent(f"""
        import sys; sys.modules['torch'] = None
        import numpy as np
        from edgebind.cli import main
        rc = main(["anchors", "build", "--bundle", {str(bundle)!r}, "--prompts", {str(tmp_path / 'p.toml')!r},
                   "--out", {str(tmp_path / 'a.json')!r}])
        assert rc == 0, rc
        from edgebind.anchors import AnchorSet
        from edgebind.detect import Detector, DetectorConfig
        s = AnchorSet.load({str(tmp_path / 'a.json')!r}, space_id={space!r})
        det = Detector(s, DetectorConfig(smoothing="none", decision="margin", margin=0.0))
        ev = det.update(0, 10, {{"audio": s["glass_breaking"].embeddings["audio"]}}, ("mic",))
        print(sorted(e.name for e in ev))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "glass_breaking" in r.stdout.strip().splitlines()[-1]


def test_bad_prompts_file_is_one_clear_line(text_bundle, tmp_path, capsys):
    bundle, _ = text_bundle
    (tmp_path / "p.toml").write_text("[[anchor]]\nname = 'x'\nprompts = ['a']\nthreshold = 'high'\n")
    rc = main(["anchors", "build", "--bundle", str(bundle), "--prompts", str(tmp_path / "p.toml"),
               "--out", str(tmp_path / "a.json")])
    err = capsys.readouterr().err
    assert rc == 1 and "anchor 'x': threshold: expected a finite number" in err
    assert not (tmp_path / "a.json").exists()


def test_clip_anchor_embeds_examples_with_a_real_embedder(text_bundle):
    from edgebind import Embedder
    from edgebind.anchors import clip_anchor
    bundle, _ = text_bundle
    e = Embedder.from_bundle(bundle)
    a = clip_anchor("door", e, text=["a door slamming", "a door banging shut"], threshold=0.2)
    rows = unit(e.embed(text=["a door slamming", "a door banging shut"])["text"].astype(np.float64))
    np.testing.assert_allclose(a.embeddings["text"], unit(rows.mean(0)), atol=1e-5)
    np.testing.assert_allclose(a.embeddings["default"], a.embeddings["text"], atol=1e-6)
    assert a.source == "examples" and a.meta["examples"] == {"text": 2} and a.threshold == 0.2


def test_example_anchor_from_a_recording(sensor_bundle, sim_recording, tmp_path, capsys):
    bundle, space = sensor_bundle
    out = tmp_path / "anchors.json"
    base = ["anchors", "example", "--bundle", str(bundle), "--recording", str(sim_recording), "--out", str(out)]
    assert main(base + ["--start", "2", "--end", "4", "--name", "thud", "--modalities", "audio"]) == 0
    # windows end on a 0.5 s grid: 4 or 5 of its points lie in a 2 s span, depending on alignment
    assert re.search(r"anchor 'thud' from [45] audio window\(s\)", capsys.readouterr().out)
    # IMU windows are the bundle's 5 s long: they end from 5 s on
    assert main(base + ["--start", "5", "--end", "6.5", "--name", "fall", "--threshold", "0.4"]) == 0
    aset = AnchorSet.load(out, space_id=space, dim=128)
    assert aset.names == ["thud", "fall"]
    fall = aset["fall"]
    assert fall.source == "examples" and fall.threshold == 0.4
    n = fall.meta["examples"]
    assert set(n) == {"audio", "imu"} and 3 <= n["imu"] <= n["audio"] <= 4
    assert fall.meta["recording"] == str(sim_recording) and fall.meta["end_s"] == 6.5
    assert set(fall.embeddings) == {"default", "audio", "imu"}
    # the same name again needs --replace; no window in range, or a missing tower, is a clear error
    assert main(base + ["--start", "2", "--end", "3", "--name", "fall"]) == 1
    assert "--replace" in capsys.readouterr().err
    assert main(base + ["--start", "5", "--end", "5.5", "--name", "fall", "--replace",
                        "--modalities", "audio"]) == 0
    assert AnchorSet.load(out)["fall"].meta["examples"] in ({"audio": 1}, {"audio": 2})
    assert main(base + ["--start", "0", "--end", "1", "--name", "early", "--modalities", "imu"]) == 1
    assert "no complete imu window ends between 0 s and 1 s" in capsys.readouterr().err
    assert main(base + ["--start", "2", "--end", "3", "--name", "v", "--modalities", "vision"]) == 1
    assert "the bundle has no vision tower" in capsys.readouterr().err


def test_example_anchor_refuses_a_set_from_another_space(sensor_bundle, sim_recording, tmp_path, capsys):
    bundle, _ = sensor_bundle
    from edgebind.anchors import Anchor
    other = AnchorSet(space_id="ebs1-22222222222222222222", dim=128)
    other.add(Anchor("x", {"default": np.ones(128)}))
    other.save(tmp_path / "a.json")
    assert main(["anchors", "example", "--bundle", str(bundle), "--recording", str(sim_recording),
                 "--out", str(tmp_path / "a.json"), "--start", "2", "--end", "3", "--name", "y"]) == 1
    assert "embedding spaces differ" in capsys.readouterr().err
