"""Every figure the README and the docs publish for the shipped default model is the one its
recorded files hold: ``eval.json`` (``edgebind eval``'s report, written with the bundle by
``python -m edgebind.train.default``), ``detector.json`` (the tuned detector) and the bundle
itself. Tables are read by their headers (the ones ``edgebind.evaluate.markdown`` writes) and
sentences by their wording, never by their numbers: after a retrain, the regenerated files are
checked against whatever the README then says. A figure no file records (the demo on seed 0) is
measured by the slow test at the end."""
from __future__ import annotations

import argparse
import inspect
import json
import re

import pytest

from edgebind import evaluate, linear_probe
from tests.conftest import REPO

README = (REPO / "README.md").read_text()
TRAINING = (REPO / "docs" / "training.md").read_text()
DETECTION = (REPO / "docs" / "detection.md").read_text()
NUM = r"(\d+(?:\.\d+)?)"
SEEDS = r"(\d+(?:-\d+)?(?:(?:,| and) \d+(?:-\d+)?)*)"


@pytest.fixture(scope="module")
def recorded():
    from edgebind import assets
    try:
        bundle = assets.default_bundle_path()
    except FileNotFoundError:
        pytest.skip("the default bundle is not built in this checkout")
    files = {n: assets.DEFAULT_DIR / n for n in ("eval.json", "detector.json")}
    missing = [n for n, p in files.items() if not p.is_file()]
    if missing:
        pytest.fail(f"the default bundle ships without {', '.join(missing)}")
    return {"eval": json.loads(files["eval.json"].read_text()),
            "detector": json.loads(files["detector.json"].read_text()),
            "bundle": bundle}


# -- helpers ---------------------------------------------------------------------------------
def same(text: str, value: float) -> bool:
    """A printed number equals ``value`` to the digits it shows."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(float(text) - value) <= 0.5 * 10 ** -decimals + 1e-9


def seeds(text: str) -> list[int]:
    """'0 and 5-7' -> [0, 5, 6, 7]."""
    out: list[int] = []
    for part in re.split(r",\s*|\s+and\s+", text.strip()):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def find(doc: str, name: str, pattern: str) -> re.Match:
    """The first match of ``pattern`` in ``doc`` with its line breaks read as spaces (reflowing a
    paragraph keeps its sentences)."""
    m = re.search(pattern, re.sub(r"[ \t]*\n[ \t]*", " ", doc), flags=re.S)
    assert m, f"{name} no longer has a sentence matching {pattern!r}; keep its wording (the " \
              "numbers may change) or update this test with it"
    return m


def check(name: str, what: str, printed: str, value: float, percent: bool = False) -> None:
    shown = value * 100 if percent else value
    assert same(printed, shown), f"{name}: {what} is {printed}, the recorded value is {shown:g}"


def tables(doc: str) -> list[list[list[str]]]:
    """Every markdown table: rows of stripped cells, the header first, the rule left out."""
    found, rows = [], []
    for line in doc.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                rows.append(cells)
        elif rows:
            found.append(rows)
            rows = []
    return found


def check_cell(where: str, cell: str, value) -> None:
    if value is None:
        assert cell in ("–", "—"), f"{where}: shows {cell!r}, eval.json has no value"
        return
    m = re.fullmatch(NUM + r"( %)?", cell)
    assert m, f"{where}: {cell!r} is not a number"
    check(where, "the cell", m.group(1), value, percent=bool(m.group(2)))


# -- the tables ------------------------------------------------------------------------------
def test_eval_md_is_what_the_code_writes_from_eval_json(recorded):
    from edgebind import assets
    shipped = (assets.DEFAULT_DIR / "eval.md").read_text().strip()
    assert shipped == evaluate.markdown(recorded["eval"]).strip(), \
        "eval.md is not edgebind.evaluate.markdown(eval.json): regenerate both together"


@pytest.mark.parametrize("name, doc", [("README.md", README), ("docs/training.md", TRAINING)])
def test_modality_tables_match_eval_json(recorded, name, doc):
    report = recorded["eval"]
    found = [t for t in tables(doc) if "emergent zero-shot top-1" in t[0]]
    assert found, f"{name} has no zero-shot table"
    for table in found:
        header, rows = table[0], table[1:]
        unknown = [c for c in header[1:] if c not in evaluate.MODALITY_COLUMNS]
        assert not unknown, f"{name}: columns {unknown} are not in edgebind.evaluate's table"
        assert {r[0] for r in rows} >= set(report["modalities"]), f"{name}: a sensor is missing"
        for row in rows:
            for column, cell in zip(header[1:], row[1:]):
                value = evaluate.table_value(report, row[0], column)
                check_cell(f"{name}, {row[0]}, {column}", cell, value)


def test_int8_table_matches_eval_json(recorded):
    towers = recorded["eval"]["int8"]["towers"]
    found = [t for t in tables(README) if "top-1 agreement with FP32" in t[0]]
    assert len(found) == 1, "README.md: one INT8 table"
    header, rows = found[0][0], found[0][1:]
    assert header[:2] == ["tower", "variant"]
    assert all(c in evaluate.INT8_COLUMNS for c in header[2:]), header
    shipped = {(m, v) for m, vs in towers.items() for v, r in vs.items() if "top1_agreement" in r}
    assert {(r[0], r[1]) for r in rows} == shipped, "README.md: INT8 rows != eval.json's variants"
    for row in rows:
        record = towers[row[0]][row[1]]
        for column, cell in zip(header[2:], row[2:]):
            value = record[evaluate.INT8_COLUMNS[column]]
            if column == "CPU targets":
                assert set(cell.split(", ")) == set(value), (row, cell, value)
            else:
                check_cell(f"README.md, {row[0]} {row[1]}, {column}", cell, value)


# -- the sentences ---------------------------------------------------------------------------
def test_readme_eval_sentences(recorded):
    rep = recorded["eval"]
    m = find(README, "README.md", r"Its table on held-out seed (\d+) \(`edgebind eval`: (\d+) "
                                  r"windows at difficulty " + NUM + r"; chance\s+" + NUM + " %")
    assert int(m.group(1)) == rep["seed"] and int(m.group(2)) == rep["n_test"]
    check("README.md", "the eval difficulty", m.group(3), rep["difficulty"])
    check("README.md", "chance", m.group(4), rep["chance"], percent=True)
    m = find(README, "README.md", r"at (\d+)-(\d+) % of their linear-probe reference")
    ratios = [r["ratio"] for r in rep["modalities"].values()]
    check("README.md", "the lowest ratio", m.group(1), min(ratios), percent=True)
    check("README.md", "the highest ratio", m.group(2), max(ratios), percent=True)
    h = rep["heldout_phrasings"]
    kept = [r["kept"] for r in h["modalities"].values()] + [h["vision_to_text_kept"]]
    m = find(README, "README.md", r"Phrasings never trained on keep (\d+)-(\d+) % of the "
                                  r"captions' top-1")
    check("README.md", "the lowest kept share", m.group(1), min(kept), percent=True)
    check("README.md", "the highest kept share", m.group(2), max(kept), percent=True)
    m = find(README, "README.md", r"On the same (\d+) held-out windows")
    assert int(m.group(1)) == rep["int8"]["n"]
    m = find(README, "README.md", r"The (\w+) tower's INT8 stayed below the bar")
    assert {d.split()[0] for d in rep["int8"]["dropped"]} == {m.group(1).lower()}
    m = find(README, "README.md", r"agreement is at least (\d+) %")
    check("README.md", "the INT8 agreement floor", m.group(1), rep["int8"]["min_top1_agreement"],
          percent=True)


def test_readme_model_size_time_and_difficulty(recorded):
    rep, bundle = recorded["eval"], recorded["bundle"]
    m = find(README, "README.md", r"`edgebind/assets/default`: a\s+" + NUM + r" MB bundle")
    size = sum(f.stat().st_size for f in bundle.iterdir() if f.is_file())
    check("README.md", "the bundle size in MB", m.group(1), size / 1e6)
    m = find(README, "README.md", r"simulated world at difficulty " + NUM + r" in " + NUM +
             r" minutes on (\d+) CPU cores")
    check("README.md", "the training difficulty", m.group(1), rep["recipe"]["difficulty"])
    assert not rep.get("training_resumed_stages"), "eval.json times a resumed run"
    check("README.md", "the training minutes", m.group(2), rep["training_seconds"]["total"] / 60)
    assert int(m.group(3)) == rep["recipe"]["threads"]
    m = find(README, "README.md", r"measured in the simulated world at difficulty " + NUM)
    from edgebind.runtime import load_bundle
    trained = load_bundle(bundle).manifest.extra["training"]["difficulty"]
    for value in (trained, rep["difficulty"], recorded["detector"]["tuned_on"]["difficulty"]):
        check("README.md", "the difficulty of every figure", m.group(1), value)


TEXT_DOC = (REPO / "docs" / "text.md").read_text()


@pytest.mark.parametrize("name, doc, pattern", [
    ("README.md", README, r"text hub in INT8, " + NUM + " MB of it"),
    ("docs/training.md", TRAINING, r"the text hub in INT8 the same way \(" + NUM + " MB"),
    ("docs/text.md", TEXT_DOC, r"one " + NUM + " MB file keeps the bundle")])
def test_text_hub_size(recorded, name, doc, pattern):
    from edgebind.runtime.manifest import Manifest
    text = Manifest.read(recorded["bundle"] / "manifest.json").encoders["text"]
    sizes = {(recorded["bundle"] / r.file).stat().st_size for r in text.files()
             if r.file.endswith(".onnx")}
    assert len(sizes) == 1, "the default bundle ships one text variant"
    check(name, "the text hub's size in MB", find(doc, name, pattern).group(1), sizes.pop() / 1e6)


def test_caption_and_phrasing_counts(recorded):
    from edgebind.sim import CAPTIONS, HELDOUT_PHRASINGS
    captions = sum(len(v) for v in CAPTIONS.values())
    phrasings = sum(len(v) for v in HELDOUT_PHRASINGS.values())
    assert recorded["eval"]["heldout_phrasings"]["n_phrasings"] == phrasings
    m = find(README, "README.md", r"with the (\d+) training captions as anchors and with (\d+) "
                                  r"other phrasings")
    assert (int(m.group(1)), int(m.group(2))) == (captions, phrasings)
    m = find(TRAINING, "docs/training.md", r"not only the (\d+) training captions")
    assert int(m.group(1)) == captions
    m = find(TRAINING, "docs/training.md", r"anchors built from (\d+) other wordings of the eight "
                                           r"events \((\w+) per event")
    per_event = {len(v) for v in HELDOUT_PHRASINGS.values()}
    assert int(m.group(1)) == phrasings and per_event == {["one", "two", "three", "four", "five",
                                                          "six"].index(m.group(2)) + 1}


@pytest.mark.parametrize("name, doc", [("README.md", README), ("docs/detection.md", DETECTION)])
def test_tuned_detector_seeds(recorded, name, doc):
    tuned_on = recorded["detector"]["tuned_on"]
    m = find(doc, name, r"tuned on(?: demo-scenario seeds|\s+other demo seeds \()\s*" + SEEDS)
    assert seeds(m.group(1)) == tuned_on["seeds"], name
    m = find(doc, name, r"(?:held-out demo seeds|checked on seeds)\s+" + SEEDS)
    assert seeds(m.group(1)) == tuned_on["check_seeds"], name


def test_readme_detector_sentence(recorded):
    checked = recorded["detector"]["tuned_on"]["check"]
    m = find(README, "README.md", r"together, precision " + NUM + r" and recall " + NUM +
             r"\s+\((\d+) events\)")
    check("README.md", "the held-out demo precision", m.group(1), checked["precision"])
    check("README.md", "the held-out demo recall", m.group(2), checked["recall"])
    assert int(m.group(3)) == checked["occurrences"]


def test_training_doc_eval_sentences(recorded):
    rep, name = recorded["eval"], "docs/training.md"
    m = find(TRAINING, name, r"Held-out seed (\d+) \(probe trained on seed (\d+)\), (\d+) windows, "
                             r"difficulty " + NUM + r", chance " + NUM + " %")
    assert (int(m.group(1)), int(m.group(2)), int(m.group(3))) == (
        rep["seed"], rep["probe_seed"], rep["n_test"])
    check(name, "the difficulty", m.group(4), rep["difficulty"])
    check(name, "chance", m.group(5), rep["chance"], percent=True)
    m = find(TRAINING, name, r"Vision -> text top-1: " + NUM + " %")
    check(name, "vision -> text", m.group(1), rep["vision_to_text_top1"], percent=True)
    ar = rep["arithmetic_vision_plus_audio"]
    m = find(TRAINING, name, r"(\d+)\s+queries\): the top-1 retrieved scene has both events " +
             NUM + r" % of the time, against " + NUM + r" % for the\s+vision embedding alone "
             r"and " + NUM + " % by chance")
    assert int(m.group(1)) == ar["queries"]
    for group, key in ((2, "top1_has_both"), (3, "vision_only_top1_has_both"), (4, "chance")):
        check(name, f"arithmetic {key}", m.group(group), ar[key], percent=True)


def test_training_doc_detector_sentence(recorded):
    det, name = recorded["detector"], "docs/training.md"
    m = find(TRAINING, name, r"(\w+) decision, (?:audio weighted " + NUM + r"x|every modality "
             r"weighted alike) in the fusion, one\s+level per event, tuned at\s+difficulty " +
             NUM + r"\s+on demo seeds " + SEEDS +
             r"\s+\(precision " + NUM + r", recall " + NUM + r"\) and checked on seeds " + SEEDS +
             r"\s+\(precision\s+" + NUM + r", recall " + NUM + r", (\d+) events\)")
    assert m.group(1) == det["detector"]["decision"]
    weights = det["detector"]["modality_weights"]
    if m.group(2) is None:
        assert set(weights.values()) <= {1.0}, weights
    else:
        check(name, "the audio weight", m.group(2), weights["audio"])
    check(name, "the tuning difficulty", m.group(3), det["tuned_on"]["difficulty"])
    assert seeds(m.group(4)) == det["tuned_on"]["seeds"]
    check(name, "the tuning precision", m.group(5), det["score"]["precision"])
    check(name, "the tuning recall", m.group(6), det["score"]["recall"])
    assert seeds(m.group(7)) == det["tuned_on"]["check_seeds"]
    checked = det["tuned_on"]["check"]
    check(name, "the check precision", m.group(8), checked["precision"])
    check(name, "the check recall", m.group(9), checked["recall"])
    assert int(m.group(10)) == checked["occurrences"]


# Stage phrases of docs/training.md's timing sentence -> eval.json training_seconds keys.
STAGES = {r"rendering (\d+) clips": ["render_cache"], r"stage 1": ["stage1"],
          r"(\d+) streamed worlds": ["world_windows"], r"vision embeddings": ["vision_embeddings"],
          r"stage 2": ["stage2_audio", "stage2_depth", "stage2_thermal", "stage2_imu"],
          r"export and\s+evaluation": ["export", "int8_check", "eval"],
          r"detector tuning": ["tune_detector"]}


def test_training_doc_times(recorded):
    rep, name = recorded["eval"], "docs/training.md"
    secs = rep["training_seconds"]
    assert not rep.get("training_resumed_stages"), "eval.json times a resumed run"
    m = find(TRAINING, name, r"on (\d+) CPU cores: (.*?): " + NUM + r" minutes in all")
    assert int(m.group(1)) == rep["recipe"]["threads"]
    check(name, "the total training minutes", m.group(3), secs["total"] / 60)
    for phrase, keys in STAGES.items():
        s = find(m.group(2), name, phrase + r"\s+" + NUM + " min")
        check(name, f"minutes of {keys}", s.group(s.re.groups), sum(secs[k] for k in keys) / 60)
        if phrase.startswith("rendering"):
            assert int(s.group(1)) == rep["recipe"]["n_train"]
        if "worlds" in phrase:
            assert int(s.group(1)) == rep["recipe"]["world_count"]


def test_training_doc_probe_recipe():
    name = "docs/training.md"
    m = find(TRAINING, name, r"regression \(L2 ([\de.-]+)\).*?gradient exceeds ([\de.-]+) "
             r"\(standardised\s+features\), capped at ([\d,]+) iterations")
    assert float(m.group(1)) == inspect.signature(linear_probe.fit_linear_probe) \
        .parameters["l2"].default
    assert float(m.group(2)) == linear_probe.PROBE_TOL
    assert int(m.group(3).replace(",", "")) == linear_probe.PROBE_MAX_ITERS


# -- measured: the demo on seed 0 --------------------------------------------------------------
def run_demo(tmp_path, *extra: str) -> dict:
    from edgebind import demo
    p = argparse.ArgumentParser()
    demo.add_arguments(p)
    out = tmp_path / "-".join(("demo",) + extra)
    assert demo.run(p.parse_args(["--seed", "0", "--out", str(out), "--no-picture", *extra])) == 0
    return json.loads((out / "summary.json").read_text())


@pytest.mark.slow
def test_demo_on_seed_0_scores_what_the_readme_says(recorded, tmp_path):
    m = find(README, "README.md", r"On `--seed 0` the demo scores precision " + NUM +
             r" and recall " + NUM + r"\s+\((\d+) events\)")
    got = run_demo(tmp_path)
    d = find(README, "README.md", r"measured in the simulated world at difficulty " + NUM)
    check("README.md", "the demo's difficulty", d.group(1), got["difficulty"])
    check("README.md", "seed 0's precision", m.group(1), got["precision"])
    check("README.md", "seed 0's recall", m.group(2), got["recall"])
    assert int(m.group(3)) == got["occurrences"]
    m = find(README, "README.md", r"At the simulator's default difficulty " + NUM +
             r" \(`edgebind demo --difficulty " + NUM + r"`\), seed 0\s+gives precision " + NUM +
             r" and recall " + NUM)
    from edgebind.sim import World
    default = inspect.signature(World).parameters["difficulty"].default
    check("README.md", "the simulator's default difficulty", m.group(1), default)
    got = run_demo(tmp_path, "--difficulty", m.group(2))
    check("README.md", "the default difficulty", m.group(2), default)
    check("README.md", "seed 0's precision at the default difficulty", m.group(3),
          got["precision"])
    check("README.md", "seed 0's recall at the default difficulty", m.group(4), got["recall"])


# -- the speed table: scripts/bench_bundles.py's JSON ------------------------------------------
SPEED_COLUMNS = {"torch eager": "torch-eager", "ORT FP32": "fp32", "ORT INT8": "int8",
                 "INT8 variant": "int8_variant", "INT8 / FP32": "int8_over_fp32",
                 "INT8 / torch": "int8_over_torch", "INT8 centred cosine": "int8_centred_cosine"}


def test_readme_speed_table_is_the_committed_benchmark():
    m = find(README, "README.md", r"`python (scripts/bench_bundles\.py)[^`]*` on (?:an? )?(.+?) "
             r"with ([\w -]+?) \(INT8 target ([\w-]+)\), (\d+) threads.*?its JSON: "
             r"`(docs/bench/[\w.-]+\.json)`")
    assert (REPO / m.group(1)).is_file()
    bench = json.loads((REPO / m.group(6)).read_text())
    cpu = bench["cpu"]
    assert (m.group(2), m.group(3), m.group(4)) == (cpu["model"], cpu["isa"], cpu["target"])
    assert int(m.group(5)) == bench["threads"]
    for name, sentence in (("small", r"INT8 is the format to ship on CPUs \(" + NUM + "-" + NUM +
                                      r"× FP32 for `small` here\)"),
                           ("default", r"INT8 buys no speed there \(" + NUM + "-" + NUM + "× FP32")):
        ratios = [r["int8_over_fp32"] for r in bench["bundles"][name]["table"].values()
                  if "int8_over_fp32" in r]
        s = find(README, "README.md", sentence)
        check("README.md", f"the lowest {name} INT8/FP32", s.group(1), min(ratios))
        check("README.md", f"the highest {name} INT8/FP32", s.group(2), max(ratios))
    found = [t for t in tables(README) if "INT8 / FP32" in t[0]]
    assert len(found) == 1, "README.md: one speed table"
    header, rows = found[0][0], found[0][1:]
    assert header[:2] == ["bundle", "tower"] and all(c in SPEED_COLUMNS for c in header[2:])
    listed = {(b, t) for b, rec in bench["bundles"].items() for t in rec["table"]}
    assert {(r[0], r[1]) for r in rows} == listed, "README.md: speed rows != the JSON's towers"
    for row in rows:
        record = bench["bundles"][row[0]]["table"][row[1]]
        for column, cell in zip(header[2:], row[2:]):
            value = record.get(SPEED_COLUMNS[column])
            if isinstance(value, str):
                assert cell == value, (row, column)
            else:
                check_cell(f"README.md speed, {row[0]} {row[1]}, {column}", cell.rstrip("×"),
                           value)


# -- docs/foxglove.md: scripts/bench_foxglove.py's JSON and the image bandwidth arithmetic ------
def test_foxglove_docs_figures_are_the_committed_benchmark():
    doc = (REPO / "docs" / "foxglove.md").read_text()
    m = find(doc, "docs/foxglove.md", r"`python (scripts/bench_foxglove\.py) --seconds (\d+)` on "
             r"an? (.+?) with ([\w -]+?), (\d+) cores \(its JSON: `(docs/bench/[\w.-]+\.json)`\): "
             r"\*\*" + NUM + r" % of one core with no client, " + NUM + r" % with one client "
             r"subscribed to every topic\*\* \(targets: " + NUM + r" % and " + NUM + r" %\), " +
             NUM + r" MB/s to the client")
    assert (REPO / m.group(1)).is_file()
    bench = json.loads((REPO / m.group(6)).read_text())
    assert int(m.group(2)) == bench["seconds"]
    assert (m.group(3), m.group(4), int(m.group(5))) == (bench["cpu"]["model"],
                                                         bench["cpu"]["isa"], bench["cpu_count"])
    share = bench["bridge_percent_of_one_core"]
    check("docs/foxglove.md", "no-client CPU", m.group(7), share["no_client"])
    check("docs/foxglove.md", "one-client CPU", m.group(8), share["one_client"])
    check("docs/foxglove.md", "no-client target", m.group(9), bench["targets_percent"]["no_client"])
    check("docs/foxglove.md", "one-client target", m.group(10),
          bench["targets_percent"]["one_client"])
    client = bench["one_client"]["client"]
    check("docs/foxglove.md", "bytes to the client", m.group(11),
          client["bytes"] / bench["one_client"]["wall_s"] / 1e6)
    # Uncompressed RGB: width x height x 3 bytes a frame.
    rates = find(doc, "docs/foxglove.md", r"224×224 RGB at 10 fps is " + NUM +
                 r" MB/s, a 1920×1080 camera " + NUM + " MB/s")
    check("docs/foxglove.md", "224x224 at 10 fps", rates.group(1), 224 * 224 * 3 * 10 / 1e6)
    check("docs/foxglove.md", "1080p at 10 fps", rates.group(2), 1920 * 1080 * 3 * 10 / 1e6)
    # A preview is rgb8 (3 bytes a pixel) beside the 32FC1 frame (4 bytes a pixel).
    extra = find(doc, "docs/foxglove.md", r"off by default: about " + NUM +
                 r" % more bytes for those streams")
    check("docs/foxglove.md", "preview bytes", extra.group(1), 3 / 4, percent=True)
