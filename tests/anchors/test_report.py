"""`edgebind anchors build` reports: nearest other anchor and its cosine per anchor, warnings
for anchors too close to tell apart, and what happened to odd prompts (empty, punctuation,
longer than the text tower's limit, other scripts, emoji); anchors are built regardless."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgebind.anchors.report import (
    CLOSE_COSINE, build_report, nearest_anchors, text_findings, too_close,
)
from edgebind.anchors import Anchor, AnchorSet, load_prompts
from edgebind.cli import main
from edgebind.preprocess.text_tokens import ClipTextTokenizer

ODD = {"empty": "", "punct": "!!! ???", "long": "a very " * 200 + "long prompt",
       "cyrillic": "собака лает", "emoji": "🐶🔊"}


def _aset(vectors: dict[str, dict[str, list[float]]]) -> AnchorSet:
    dim = len(next(iter(next(iter(vectors.values())).values())))
    return AnchorSet("ebs1-test", dim, [Anchor(n, {k: np.array(v) for k, v in e.items()})
                                        for n, e in vectors.items()])


def test_nearest_is_the_closest_in_any_shared_embedding():
    aset = _aset({"a": {"default": [1, 0, 0], "audio": [1, 0, 0]},
                  "b": {"default": [0, 1, 0], "audio": [0.96, 0.28, 0]},
                  "c": {"default": [0.6, 0.8, 0]}})
    found = {f.name: f for f in nearest_anchors(aset)}
    m = {k: aset.matrix(k) for k in ("default", "audio")}
    sims = {k: v @ v.T for k, v in m.items()}
    assert found["a"].nearest == "b" and found["a"].key == "audio"
    assert found["a"].cosine == pytest.approx(sims["audio"][0, 1])
    assert found["c"].nearest == "b" and found["c"].cosine == pytest.approx(sims["default"][2, 1])
    pairs = too_close(list(found.values()), close=0.9)
    assert pairs == [{"anchors": ["a", "b"], "cosine": round(float(sims["audio"][0, 1]), 4),
                      "key": "audio"}]
    assert too_close(list(found.values()), close=0.99) == []
    single = nearest_anchors(_aset({"only": {"default": [1.0, 0.0]}}))
    assert single[0].nearest is None


def test_text_findings():
    assert "empty" in text_findings("   ")[0]
    assert any("no letters" in f for f in text_findings("!!! ???"))
    assert any("cyrillic" in f for f in text_findings("собака лает"))
    assert any("cjk" in f and "hiragana" in f for f in text_findings("東京の犬"))
    assert any("emoji" in f for f in text_findings("dog 🐶"))
    assert text_findings("a dog barking 3 times") == []


def _prompts_file(tmp_path, extra=""):
    body = "modalities = []\n"
    for name, p in ODD.items():
        body += f"[[anchor]]\nname = {name!r}\nprompts = [{json.dumps(p, ensure_ascii=False)}]\n"
    (tmp_path / "p.toml").write_text(body + extra)
    return tmp_path / "p.toml"


def test_clip_tokenizer_report_on_odd_prompts():
    from edgebind.anchors import text_anchor
    rng = np.random.default_rng(0)
    enc = lambda texts: rng.standard_normal((len(texts), 8))  # noqa: E731
    aset = AnchorSet("ebs1-test", 8, [text_anchor(n, [p], enc, templates={}) for n, p in ODD.items()])
    from edgebind.anchors import parse_prompts
    pf = parse_prompts({"anchor": [{"name": n, "prompts": [p]} for n, p in ODD.items()],
                        "modalities": []})
    rep = build_report(aset, pf, ClipTextTokenizer().encode)
    problems = {a["name"]: " ".join(a["prompts"][0]["problems"]) for a in rep["anchors"]}
    assert "empty" in problems["empty"] and "no letters" in problems["punct"]
    assert "truncated: 402 tokens, the first 75 kept" in problems["long"]
    assert "cyrillic" in problems["cyrillic"] and "emoji" in problems["emoji"]
    assert rep["prompts_with_problems"] == len(ODD)


def test_build_reports_on_a_minilm_bundle(minilm_bundle, tmp_path, capsys):
    near = '[[anchor]]\nname = "dog"\nprompts = ["a dog barking"]\n' \
           '[[anchor]]\nname = "dog2"\nprompts = ["a dog is barking loudly"]\n'
    prompts = _prompts_file(tmp_path, near)
    out = tmp_path / "anchors.json"
    args = ["anchors", "build", "--bundle", str(minilm_bundle), "--prompts", str(prompts),
            "--out", str(out), "--json"]
    assert main(args) == 0
    rep = json.loads(capsys.readouterr().out)
    aset = AnchorSet.load(out)
    assert aset.names == [*ODD, "dog", "dog2"] and rep["text_tower"] == "all-MiniLM-L6-v2"
    for a in aset:                                   # every odd prompt still became an anchor
        assert np.isclose(np.linalg.norm(a.embeddings["default"]), 1.0)
    problems = {a["name"]: " ".join(a["prompts"][0]["problems"]) for a in rep["anchors"]}
    assert "empty" in problems["empty"] and "no letters" in problems["punct"]
    assert "truncated: 402 tokens, the first 254 kept" in problems["long"]
    assert "cyrillic" in problems["cyrillic"]
    assert "emoji" in problems["emoji"] and "unknown to the vocabulary" in problems["emoji"]
    assert problems["dog"] == "" and rep["prompts_with_problems"] == len(ODD)
    # nearest anchors: recomputed from the written set
    m = aset.matrix()
    sim = m @ m.T
    np.fill_diagonal(sim, -np.inf)
    for i, a in enumerate(rep["anchors"]):
        assert a["nearest"] == aset.names[int(np.argmax(sim[i]))]
        assert a["cosine"] == pytest.approx(sim[i].max(), abs=1e-4)
    dog = sim[aset.names.index("dog"), aset.names.index("dog2")]
    flagged = [p["anchors"] for p in rep["too_close"]]
    assert (["dog", "dog2"] in flagged) == (dog >= CLOSE_COSINE)
    # a lower --close flags the pair, in words too
    assert main([*args[:-1], "--force", "--close", f"{dog - 0.01:.4f}"]) == 0
    text = capsys.readouterr().out
    assert "warning: anchors 'dog' and 'dog2' are too close to tell apart" in text
    assert "nearest dog2" in text and "'!!! ???': no letters or digits" in text
