"""What ``edgebind anchors`` does with a bundle: build an anchor set from a prompts file with its
text tower, add a few-shot anchor from a recording with its sensor towers, and open an anchor
set checked against its embedding space. ONNX Runtime only; torch is not needed."""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edgebind.anchors.build import build_anchor_set, embedder_text_encoder, example_anchor
from edgebind.anchors.prompts import load_prompts
from edgebind.anchors.recording import recording_examples
from edgebind.anchors.records import Anchor, AnchorSet
from edgebind.anchors.report import CLOSE_COSINE, build_report


def _bundle_or_default(bundle: str | os.PathLike | None) -> str:
    if bundle is not None:
        return str(bundle)
    from edgebind.assets import default_bundle_path
    return str(default_bundle_path())


def build_with_bundle(bundle: str | os.PathLike | None, prompts_path: str | os.PathLike,
                      out: str | os.PathLike, *, force: bool = False, precision: str | None = None,
                      close: float | None = None,
                      progress: Callable[[str], None] | None = None) -> tuple[AnchorSet, dict[str, Any]]:
    """Embed every anchor of a prompts file with the bundle's text tower (the default bundle
    when None), write the set to ``out`` and return it with its report (:func:`build_report`)."""
    from edgebind.embedder import Embedder

    bundle = _bundle_or_default(bundle)
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists; pass --force to overwrite it")
    prompts = load_prompts(prompts_path)
    kwargs: dict[str, Any] = {"modalities": ["text"]}
    if precision:
        kwargs["precision"] = precision
    embedder = Embedder.from_bundle(bundle, **kwargs)
    if embedder.space_id is None:
        raise ValueError(f"bundle {bundle} names no embedding space")
    tower = (embedder.bundle.manifest.extra.get("text_tower") or {}).get("hub") or \
        "ImageBind CLIP text tower"
    meta = {"bundle": bundle, "prompts_file": str(prompts_path), "text_tower": tower}
    aset = build_anchor_set(prompts, embedder_text_encoder(embedder), embedder.space_id,
                            embedder.embed_dim, meta=meta, progress=progress)
    aset.save(out)
    report = build_report(aset, prompts, embedder.text_tokenizer.encode,
                          CLOSE_COSINE if close is None else close, tower)
    return aset, report


def add_recording_anchor(bundle: str | os.PathLike | None, out: str | os.PathLike, name: str,
                         recording: str | os.PathLike, start_s: float, end_s: float, *,
                         modalities: Sequence[str] | None = None, threshold: float | None = None,
                         background: bool = False, replace: bool = False) -> tuple[AnchorSet, Anchor]:
    """Add the mean of a recording's windows ending between ``start_s`` and ``end_s`` as an
    anchor to the set at ``out`` (created when absent, else it must be in the bundle's space)."""
    from edgebind.embedder import Embedder

    if not Path(recording).exists():   # a file, or a rosbag2 folder
        raise FileNotFoundError(f"recording {recording} does not exist")
    embedder = Embedder.from_bundle(_bundle_or_default(bundle))
    out = Path(out)
    if out.exists():
        aset = AnchorSet.load(out, space_id=embedder.space_id, dim=embedder.embed_dim)
    else:
        aset = AnchorSet(space_id=embedder.space_id, dim=embedder.embed_dim)
    if name in aset and not replace:
        raise ValueError(f"{out} already has an anchor named {name!r}; pass --replace")
    examples = recording_examples(embedder, recording, start_s, end_s, modalities=modalities)
    anchor = example_anchor(name, examples, threshold=threshold, background=background)
    anchor.meta.update({"recording": str(recording), "start_s": start_s, "end_s": end_s})
    aset.replace(anchor)
    aset.save(out)
    return aset, anchor


def load_for_bundle(path: str | os.PathLike, bundle: str | os.PathLike | None) -> AnchorSet:
    """An anchor-set file, refused unless in ``bundle``'s space (when a bundle is given); only
    the bundle's manifest is read."""
    space = None
    if bundle:
        from edgebind.runtime.bundle import MANIFEST
        from edgebind.runtime.manifest import Manifest
        space = Manifest.read(Path(bundle) / MANIFEST).space_id
    return AnchorSet.load(path, space_id=space)
