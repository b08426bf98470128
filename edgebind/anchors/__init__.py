"""Anchors: named points in the embedding space that the detector compares windows against.

An anchor comes from words (prompts, averaged over per-modality prompt templates), from examples
(embeddings of recorded clips: a few-shot mean) or from other anchors (weighted sums: ImageBind's
embedding arithmetic). Anchors built on the workstation are saved as an anchor-set file, so the
device needs no text encoder; loading and using an anchor set needs numpy only.

The package, device side first:

- ``records``: :class:`Anchor`, :class:`AnchorSet` and the checks every anchor passes;
- ``vectors``: unit-norm vectors and their (weighted) means;
- ``setfile``: the anchor-set file (JSON, ``edgebind.anchors/1``): read, validate, write;
- ``prompts``: the prompts file (TOML) ``edgebind anchors build`` reads;
- ``fields``: readers the two file formats share (on :mod:`edgebind.validate`);
- ``build``: anchors from prompts, examples and composition; a set from a prompts file;
- ``recording``: few-shot examples from the windows of a recording (imports the sensors);
- ``report``: what ``edgebind anchors build``/``show`` tell users (nearest anchors, prompts);
- ``with_bundle`` and ``cli``: the ``edgebind anchors`` command.
"""
from edgebind.anchors.build import (TextEncoder, build_anchor_set, clip_anchor, composed_anchor,
                                    embedder_text_encoder, example_anchor, text_anchor)
from edgebind.anchors.prompts import (DEFAULT_TEMPLATES, PROMPTS_SCHEMA, AnchorSpec, PromptsFile,
                                      load_prompts, parse_prompts)
from edgebind.anchors.recording import recording_examples
from edgebind.anchors.records import (DEFAULT_KEY, EMBEDDING_KEYS, NAME_RE, SCHEMA, SOURCES, Anchor,
                                      AnchorSet, AnchorSetError)
from edgebind.anchors.vectors import ensemble, normalize

__all__ = [
    "DEFAULT_KEY", "DEFAULT_TEMPLATES", "EMBEDDING_KEYS", "NAME_RE", "PROMPTS_SCHEMA", "SCHEMA",
    "SOURCES", "Anchor", "AnchorSet", "AnchorSetError", "AnchorSpec", "PromptsFile", "TextEncoder",
    "build_anchor_set", "clip_anchor", "composed_anchor", "embedder_text_encoder", "ensemble",
    "example_anchor", "load_prompts", "normalize", "parse_prompts", "recording_examples",
    "text_anchor",
]
