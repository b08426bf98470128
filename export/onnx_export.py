"""torch tower -> ONNX file: opset 17, dynamic batch, named input/output, checker-clean, with
external data for towers over 2 GB (the huge vision tower)."""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from edgebind.runtime.sample_inputs import example_input

OUTPUT_NAME = "embedding"
TWO_GB = 2 * 1024**3
# Towers whose second input axis (clips) is left dynamic: their embedding is the mean over clips,
# so a window whose clips are all the same clip runs the tower once, not three times.
DYNAMIC_CLIPS = ("audio",)


def tower_module(model, modality: str):
    """A ``torch.nn.Module`` mapping one modality's batch to its embeddings."""
    import torch

    class Tower(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model({modality: x})[modality]

    return Tower().eval()


def export_onnx(model, modality: str, path: Path, opset: int = 17,
                example: np.ndarray | None = None,
                input_axes: dict[int, str] | None = None) -> Path:
    """Export one tower. Returns the path; external data (if any) sits beside it.
    ``input_axes``: the input's dynamic axes (default: batch, and clips for audio)."""
    import onnx
    import torch

    path = Path(path)
    module = tower_module(model, modality)
    x = torch.from_numpy(example if example is not None else example_input(modality))
    n_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    big = n_bytes >= TWO_GB - (64 << 20)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".onnx-export-") as tmpdir:
        # A private folder: for >2 GB towers the exporter scatters one file per weight in it.
        tmp = Path(tmpdir) / "tower.onnx"
        with warnings.catch_warnings():
            # The TorchScript exporter is deliberate: it honours opset 17 (the dynamo exporter
            # silently emits 18) and keeps the batch symbolic for our reshape(-1, ...) towers.
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (x,), str(tmp), dynamo=False, opset_version=opset,
                              input_names=[modality], output_names=[OUTPUT_NAME],
                              dynamic_axes={modality: input_axes or _dynamic_input_axes(modality),
                                            OUTPUT_NAME: {0: "batch"}},
                              do_constant_folding=True)
        proto = onnx.load(str(tmp), load_external_data=True)
    _strip_and_name(proto, modality)
    save_model(proto, path, external=big)
    del proto
    if big:
        onnx.checker.check_model(str(path))
    else:
        onnx.checker.check_model(onnx.load(str(path)))
    return path


def _dynamic_input_axes(modality: str) -> dict[int, str]:
    return {0: "batch", 1: "clips"} if modality in DYNAMIC_CLIPS else {0: "batch"}


def _strip_and_name(proto, modality: str) -> None:
    proto.producer_name = "edgebind"
    proto.doc_string = f"EdgeBind {modality} tower"
    dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    dim.dim_param = "batch"
    dim = proto.graph.output[0].type.tensor_type.shape.dim[0]
    dim.dim_param = "batch"


def save_model(proto, path: Path, external: bool) -> list[Path]:
    """Save, with weights in one ``<name>.data`` file when ``external``. Returns files written."""
    import onnx

    path = Path(path)
    if external:
        onnx.save_model(proto, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data", size_threshold=1024)
        return [path, path.with_name(path.name + ".data")]
    onnx.save_model(proto, str(path))
    return [path]


def external_files(path: Path) -> list[Path]:
    """The external-data files an ONNX file refers to (none for a self-contained file)."""
    import onnx
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    proto = onnx.load(str(path), load_external_data=False)
    names = set()
    for t in _get_all_tensors(proto):
        if uses_external_data(t):
            for e in t.external_data:
                if e.key == "location":
                    names.add(e.value)
    return [Path(path).with_name(n) for n in sorted(names)]
