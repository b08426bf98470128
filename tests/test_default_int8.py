"""The default bundle's INT8 sensor towers: shipped for every CPU target, checked on the device,
faithful to FP32, and the numbers the README publishes are the recorded ones."""
from __future__ import annotations

import json

import pytest

from edgebind import assets
from edgebind.runtime.cpu import TARGETS

SENSOR_TOWERS = ("vision", "audio", "depth", "thermal", "imu")


def _bundle():
    try:
        return assets.default_bundle_path()
    except FileNotFoundError:
        pytest.skip("the default bundle has not been built into this checkout")


def _recorded() -> dict:
    return json.loads((assets.DEFAULT_DIR / "eval.json").read_text())["int8"]


def test_every_target_has_an_int8_variant_or_a_recorded_reason():
    manifest = json.loads((_bundle() / "manifest.json").read_text())
    dropped = set(_recorded()["dropped"])
    for m in SENSOR_TOWERS:
        variants = manifest["encoders"][m]["variants"]
        assert "fp32" in variants                      # the fallback is always there
        covered = {t for v in variants.values() for t in v.get("targets", [])}
        missing = set(TARGETS) - covered
        assert not missing or any(d.startswith(m + " ") for d in dropped), (m, missing)


def test_golden_sets_are_small_and_the_check_is_on():
    from edgebind.runtime import load_bundle
    path = _bundle()
    manifest = json.loads((path / "manifest.json").read_text())
    total = sum(e["golden"]["bytes"] for e in manifest["encoders"].values())
    assert total <= 1_000_000, total
    dropped = {d.split()[0] for d in _recorded()["dropped"]}
    with load_bundle(path, threads=2) as b:
        for m, c in b.choices.items():
            assert c.status == "verified", (m, c.to_dict())
            if m in SENSOR_TOWERS and m not in dropped and b.cpu.target in TARGETS:
                v = b.manifest.encoders[m].variants[c.variant]
                assert v.family == "int8" and b.cpu.target in v.targets


def test_recorded_agreement_meets_the_bar():
    rec = _recorded()
    assert rec["n"] >= 400 and rec["min_top1_agreement"] == 0.99
    for m, rows in rec["towers"].items():
        for key, r in rows.items():
            if f"{m} {key}" not in rec["dropped"]:
                assert r["top1_agreement"] >= 0.99 and r["centred_cosine_mean"] >= 0.99, (m, key)


@pytest.mark.slow
def test_int8_agreement_recomputes_on_this_machine():
    """Fewer windows than recorded (96 of 400), same seed: every shipped variant, as its targets
    compute it, still gives FP32's answer almost everywhere."""
    from edgebind.evaluation.quant import evaluate_variants
    rec = _recorded()
    got = evaluate_variants(_bundle(), assets.default_anchors_path(), seed=rec["seed"], n=96,
                            threads=2)
    for m, rows in got["towers"].items():
        for key, r in rows.items():
            assert "error" not in r, (m, key, r)
            assert r["top1_agreement"] >= 0.96 and r["centred_cosine_mean"] >= 0.99, (m, key, r)
