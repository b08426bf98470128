"""What a ``Pipeline`` is built from, checked: an anchor set and a detector in the embedder's
space, the towers to run, and the window assembler (with a profile's corrections)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from edgebind.pipeline.config import PipelineConfig
from edgebind.space import check_same_space

if TYPE_CHECKING:
    from edgebind.anchors import AnchorSet
    from edgebind.detect import Detector, DetectorConfig
    from edgebind.pipeline.core import Pipeline
    from edgebind.profile import Profile
    from edgebind.runtime.encoder import SupportsEmbedding
    from edgebind.sample import StreamInfo
    from edgebind.sensors.base import SampleSource
    from edgebind.sensors.windows import WindowAssembler


def check_space(embedder: SupportsEmbedding, anchor_set: AnchorSet) -> None:
    check_same_space(embedder.space_id or "", anchor_set.space_id or "",
                     "the bundle", "the anchor set")


def anchors_and_detector(embedder: SupportsEmbedding, anchor_set: AnchorSet | None,
                         detector: Detector | None, profile: Profile | None
                         ) -> tuple[AnchorSet, Detector]:
    """Both in the embedder's space; the default detector (over ``anchor_set``, default
    settings, the profile's thresholds) when none is given."""
    if anchor_set is None and detector is None:
        raise ValueError("Pipeline needs an anchor set or a detector")
    for aset in (anchor_set, detector.anchor_set if detector is not None else None):
        if aset is not None:
            check_space(embedder, aset)
    if detector is None:
        from edgebind.detect import Detector, DetectorConfig
        assert anchor_set is not None
        thresholds = dict((profile.thresholds if profile is not None else None) or {})
        detector = Detector(anchor_set, DetectorConfig(), thresholds=thresholds)
    return (anchor_set if anchor_set is not None else detector.anchor_set), detector


def towers_to_run(config: PipelineConfig, embedder: SupportsEmbedding,
                  infos: Sequence[StreamInfo]) -> tuple[str, ...]:
    """The configured modalities (default: every one with a stream) that have a tower; a
    configured one without a tower, or no streamed modality with one, is an error."""
    have = set(embedder.modalities)
    streamed = {i.modality for i in infos}
    wanted = config.modalities or tuple(sorted(streamed))
    missing = [m for m in (config.modalities or ()) if m not in have]
    if missing:
        raise ValueError(f"the bundle has no {', '.join(missing)} tower; it has "
                         f"{', '.join(sorted(have))}")
    run = tuple(m for m in wanted if m in have)
    if not run:
        raise ValueError(f"no stream modality ({', '.join(sorted(streamed)) or 'none'}) "
                         f"has a tower in the bundle ({', '.join(sorted(have))})")
    return run


def make_assembler(infos: Sequence[StreamInfo], window_s: dict[str, float],
                   config: PipelineConfig, embedder: SupportsEmbedding,
                   profile: Profile | None) -> WindowAssembler:
    """The window assembler; with a profile it applies the profile's per-stream time
    offsets, IMU, thermal and audio corrections (refusing ones that do not fit a stream)."""
    from edgebind.sensors.windows import WindowAssembler
    kwargs: dict[str, Any] = dict(window_s=window_s, hop_s=config.hop_s,
                                  frame_tolerance_s=config.frame_tolerance_s,
                                  lateness_s=config.lateness_s)
    pre = embedder.preprocess
    if pre is not None:     # IMU windows resampled to the rows the model takes
        kwargs["imu_rows"] = int(pre.imu.n_samples)
    if profile is not None:
        return WindowAssembler.from_profile(infos, profile, **kwargs)
    return WindowAssembler(infos, **kwargs)


def from_files(cls: type[Pipeline], bundle: str | Path, anchors: str | Path,
               sources: Sequence[SampleSource], *, profile: str | Path | Profile | None,
               detector_config: DetectorConfig | dict[str, Any] | None,
               thresholds: dict[str, float] | None, detector: str | Path | bool | None,
               **kwargs: Any) -> Pipeline:
    """``Pipeline.from_files``: the bundle's sensor towers (anchors arrive embedded), the
    anchor set and profile checked against its space, the detector as ``edgebind run``
    builds it."""
    from edgebind.anchors import AnchorSet
    from edgebind.detect.tuned import build_detector
    from edgebind.embedder import Embedder
    embedder = Embedder.from_bundle(bundle, text=False)
    anchor_set = AnchorSet.load(anchors, space_id=embedder.space_id)
    if profile is not None and isinstance(profile, (str, Path)):
        from edgebind.profile import Profile
        profile = Profile.load(profile, space_id=embedder.space_id)
    det, _ = build_detector(anchor_set, anchors, choice=detector, space_id=embedder.space_id,
                            settings=detector_config,
                            thresholds=[profile.thresholds if profile is not None else None,
                                        thresholds])
    return cls(sources, embedder, anchor_set, det, profile=profile, **kwargs)
