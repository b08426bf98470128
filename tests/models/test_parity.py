"""Numerical parity with the reference model (parity fixture: small random config)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from tests.models.conftest import case_input

CASES = ["vision", "text", "audio", "depth", "thermal", "imu", "vision_video", "vision_280"]
# README: upstream float32 vs float64 differ by <= 1.1e-5 for text (scaled by up to 100) and
# <= 2.3e-6 elsewhere; allow twice that for an independent float32 implementation.
F32_ATOL = {"text": 2.5e-5}
F32_ATOL_DEFAULT = 5e-6


@pytest.fixture(scope="module")
def model64(parity_model):
    return copy.deepcopy(parity_model).double()


def _to64(x: torch.Tensor) -> torch.Tensor:
    return x.double() if x.is_floating_point() else x


@pytest.mark.parametrize("case", CASES)
def test_float64_parity(case, model64, parity_inputs, outputs64):
    modality, x = case_input(case, parity_inputs)
    with torch.no_grad():
        y = model64({modality: _to64(x)})[modality].numpy()
    assert y.shape == outputs64[case].shape
    assert np.abs(y - outputs64[case]).max() <= 1e-9


def test_float32_joint_call(parity_model, parity_inputs, outputs32, outputs64):
    """One call with all six modalities, as the fixture outputs were produced."""
    six = {k: parity_inputs[k] for k in outputs32}
    with torch.no_grad():
        out = parity_model(six)
    assert list(out) == list(six)
    for k, y in out.items():
        atol = F32_ATOL.get(k, F32_ATOL_DEFAULT)
        assert y.dtype == torch.float32
        assert np.abs(y.numpy() - outputs32[k]).max() <= atol, k
        assert np.abs(y.numpy() - outputs64[k]).max() <= atol, k


@pytest.mark.parametrize("case", ["vision_video", "vision_280"])
def test_float32_extra_cases(case, parity_model, parity_inputs, outputs64):
    modality, x = case_input(case, parity_inputs)
    with torch.no_grad():
        y = parity_model({modality: x})[modality].numpy()
    assert np.abs(y - outputs64[case]).max() <= F32_ATOL_DEFAULT


def test_output_norms(model64, parity_inputs):
    """Vision unit norm; fixed scales 20/5/10/5; clip averages are not re-normalised."""
    x = {k: _to64(parity_inputs[k]) for k in ("vision", "audio", "depth", "thermal", "imu")}
    with torch.no_grad():
        out = model64(x)
    norms = {k: v.norm(dim=-1) for k, v in out.items()}
    for k, n in {"vision": 1.0, "depth": 5.0, "thermal": 10.0, "imu": 5.0}.items():
        torch.testing.assert_close(norms[k], torch.full_like(norms[k], n))
    assert (norms["audio"] < 20.0).all() and (norms["audio"] > 15.0).all()


@pytest.mark.parametrize("case", CASES)
def test_intermediates(case, model64, parity_inputs, intermediates):
    """Tokens, trunk output and head output (per clip) against the float32 reference."""
    modality, x = case_input(case, parity_inputs)
    x = _to64(x)
    pre = model64.modality_preprocessors[modality]
    with torch.no_grad():
        if pre.check(x):
            x = x.reshape((-1,) + tuple(x.shape[2:]))
        tokens, mask, seq_len = pre(x)
        trunk = model64.modality_trunks[modality](tokens, mask)
        head = model64.modality_heads[modality](trunk, seq_len)
    for name, got, tol in (("tokens", tokens, 1e-5), ("trunk_out", trunk, 1e-4),
                           ("head_out", head, 1e-4)):
        ref = intermediates[f"{case}.{name}"]
        assert tuple(got.shape) == ref.shape, name
        scale = max(1.0, float(np.abs(ref).max()))
        assert np.abs(got.numpy() - ref).max() <= tol * scale, name


def test_end_to_end_from_reference_preprocessing(parity_model, preproc_dir, parity_dir):
    """The model on the reference-preprocessed image/text/audio tensors."""
    with np.load(parity_dir / "e2e_from_preproc_ref_outputs.npz") as f:
        ref = dict(f)
    audio = np.concatenate([np.load(preproc_dir / "audio" / f"{c}_preprocessed.npy")
                            for c in ref["audio_case_order"]])
    x = {"vision": torch.from_numpy(np.load(preproc_dir / "vision_preprocessed.npy")),
         "text": torch.from_numpy(np.load(preproc_dir / "text_tokens.npy")),
         "audio": torch.from_numpy(audio)}
    with torch.no_grad():
        out = parity_model(x)
    for k, y in out.items():
        assert np.abs(y.numpy() - ref[k]).max() <= F32_ATOL.get(k, F32_ATOL_DEFAULT), k
