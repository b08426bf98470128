"""The topic map: which bag topic becomes which EdgeBind stream, where the message type alone
cannot say (two cameras, thermal versus depth in mono16, audio without an ``AudioInfo`` topic).

A TOML file of ``[[streams]]`` tables, one per topic (every key but ``topic`` optional)::

    [[streams]]
    topic = "/lepton/image_raw"   # the bag topic
    name = "thermal0"             # stream id (default: the topic, '/' -> '_', no leading '_')
    modality = "thermal"          # vision, depth, thermal, audio or imu (default: guessed)
    scale = 0.01                  # image value = raw * scale + offset (thermal mono16: K/count)
    offset = 0.0
    stamp = "header"              # "header" (default where set) or "receive" (bag time)
    skip = false                  # true: leave this topic out
    # audio only: the AudioInfo topic, or the format when the bag has none
    info_topic = "/audio/audio_info"
    sample_rate = 16000
    channels = 1
    sample_format = "S16LE"

Given as ``open_recording(bag, topics=FILE)``, ``edgebind replay --topics FILE``, or found beside
the bag as ``<bag>.topics.toml`` (so every command that takes a recording uses it).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODALITIES = ("vision", "depth", "thermal", "audio", "imu")
_KEYS = {"topic", "name", "modality", "scale", "offset", "stamp", "skip", "info_topic",
         "sample_rate", "channels", "sample_format"}


@dataclass(frozen=True)
class TopicRule:
    topic: str
    name: str | None = None
    modality: str | None = None
    scale: float | None = None
    offset: float | None = None
    stamp: str | None = None
    skip: bool = False
    info_topic: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    sample_format: str | None = None


def stream_name(topic: str) -> str:
    """The default stream id of a topic: EdgeBind ids are ``[A-Za-z0-9_.-]+``."""
    out = "".join(c if c.isalnum() or c in "_.-" else "_" for c in topic.strip("/"))
    return out or "topic"


def sidecar(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".topics.toml")


def load_topics(source: Any, bag: str | os.PathLike | None = None) -> dict[str, TopicRule]:
    """Topic -> rule from a file path, a parsed ``{"streams": [...]}`` mapping, or (``source``
    None) the bag's ``<bag>.topics.toml`` when there is one."""
    if source is None:
        if bag is None or not sidecar(bag).is_file():
            return {}
        source = sidecar(bag)
    if isinstance(source, dict):
        doc, where = source, "topic map"
    else:
        from edgebind.fileio import parse_toml
        where = str(source)
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"topic map {source} does not exist") from None
        doc = parse_toml(data, where)
    tables = doc.get("streams", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"{where}: expected [[streams]] tables, one per topic")
    rules: dict[str, TopicRule] = {}
    for i, t in enumerate(tables):
        rule = _rule(t, f"{where}: [[streams]] #{i + 1}")
        if rule.topic in rules:
            raise ValueError(f"{where}: topic {rule.topic!r} is mapped twice")
        rules[rule.topic] = rule
    return rules


def _rule(t: dict[str, Any], where: str) -> TopicRule:
    extra = sorted(set(t) - _KEYS)
    if extra:
        raise ValueError(f"{where}: unknown key(s) {extra}; known: {sorted(_KEYS)}")
    topic = t.get("topic")
    if not isinstance(topic, str) or not topic:
        raise ValueError(f"{where}: key 'topic' expected the bag topic, got {topic!r}")
    mod = t.get("modality")
    if mod is not None and mod not in MODALITIES:
        raise ValueError(f"{where}: key 'modality' expected one of {list(MODALITIES)}, "
                         f"got {mod!r}")
    stamp = t.get("stamp")
    if stamp not in (None, "header", "receive"):
        raise ValueError(f"{where}: key 'stamp' expected 'header' or 'receive', got {stamp!r}")
    name = t.get("name")
    if name is not None and (not isinstance(name, str) or stream_name(name) != name):
        raise ValueError(f"{where}: key 'name' expected a stream id of letters, digits, "
                         f"'_', '.', '-', got {name!r}")
    for key in ("scale", "offset"):
        if key in t and (isinstance(t[key], bool) or not isinstance(t[key], (int, float))):
            raise ValueError(f"{where}: key {key!r} expected a number, got {t[key]!r}")
    for key in ("sample_rate", "channels"):
        if key in t and (isinstance(t[key], bool) or not isinstance(t[key], int)
                         or t[key] <= 0):
            raise ValueError(f"{where}: key {key!r} expected a positive integer, "
                             f"got {t[key]!r}")
    return TopicRule(topic=topic, name=name, modality=mod, scale=t.get("scale"),
                     offset=t.get("offset"), stamp=stamp, skip=bool(t.get("skip", False)),
                     info_topic=t.get("info_topic"), sample_rate=t.get("sample_rate"),
                     channels=t.get("channels"), sample_format=t.get("sample_format"))
