import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgebind.train.losses import (Temperature, distill_loss, info_nce,  # noqa: E402
                                   parse_temperature, retrieval_top1)


def _ce(row, target):
    return -row[target] + math.log(sum(math.exp(v) for v in row))


def test_info_nce_matches_hand_computation():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    y = torch.tensor([[0.5, 0.5], [1.0, -1.0]])
    # logits = x @ y.T = [[0.5, 1.0], [1.0, -2.0]]; columns for y -> x: [[0.5, 1.0], [1.0, -2.0]]^T
    l_xy = (_ce([0.5, 1.0], 0) + _ce([1.0, -2.0], 1)) / 2
    l_yx = (_ce([0.5, 1.0], 0) + _ce([1.0, -2.0], 1)) / 2  # the matrix is symmetric here
    want = 0.5 * (l_xy + l_yx)
    assert info_nce(x, y).item() == pytest.approx(want, rel=1e-6)
    assert info_nce(x, y, scale=2.0, symmetric=False).item() == pytest.approx(
        (_ce([1.0, 2.0], 0) + _ce([2.0, -4.0], 1)) / 2, rel=1e-6)


def test_info_nce_asymmetric_case_by_hand():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    logits = (x @ y.T).tolist()          # [[2,0,0],[0,1,0],[2,1,0]]
    cols = list(map(list, zip(*logits)))  # [[2,0,2],[0,1,1],[0,0,0]]
    want = 0.5 * (sum(_ce(logits[i], i) for i in range(3)) / 3
                  + sum(_ce(cols[i], i) for i in range(3)) / 3)
    assert info_nce(x, y).item() == pytest.approx(want, rel=1e-6)


def test_multi_positive_sums_probability_of_positives():
    logits_row = [1.0, 0.5, -1.0]
    x = torch.tensor([[1.0, 0.0, 0.0]])
    y = torch.tensor([[1.0], [0.5], [-1.0]]).repeat(1, 3) * torch.tensor([1.0, 0.0, 0.0])
    pos = torch.tensor([[True, True, False]])
    p = [math.exp(v) for v in logits_row]
    want = -math.log((p[0] + p[1]) / sum(p))
    assert info_nce(x, y, pos_mask=pos, symmetric=False).item() == pytest.approx(want, rel=1e-6)
    # with the diagonal as the only positive it equals plain cross-entropy
    eye = torch.eye(3, dtype=torch.bool)
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    assert info_nce(a, b, pos_mask=eye).item() == pytest.approx(info_nce(a, b).item(), rel=1e-5)


def test_perfect_alignment_gives_low_loss_and_full_retrieval():
    e = torch.nn.functional.normalize(torch.randn(16, 32), dim=-1)
    assert info_nce(e, e, scale=100.0).item() < 1e-3
    assert retrieval_top1(e, e) == 1.0
    assert info_nce(e, e.roll(1, 0), scale=100.0).item() > 10


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="paired rows"):
        info_nce(torch.randn(3, 4), torch.randn(5, 4))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        info_nce(torch.randn(3, 4), torch.randn(3, 5))
    with pytest.raises(ValueError, match="no positive"):
        info_nce(torch.randn(2, 4), torch.randn(2, 4), pos_mask=torch.zeros(2, 2, dtype=torch.bool))


def test_temperature_modes():
    x, y = torch.randn(4, 8) * 3, torch.randn(4, 8)
    xs, ys, s = Temperature("tower")(x, y)
    assert s is None and torch.equal(xs, x)
    xs, ys, s = Temperature(0.1)(x, y)
    assert float(s) == pytest.approx(10.0) and torch.allclose(xs.norm(dim=-1), torch.ones(4))
    learned = Temperature("learned")
    assert learned.value() == pytest.approx(0.07, rel=1e-5)
    assert [p.requires_grad for p in learned.parameters()] == [True]
    assert parse_temperature("0.05") == 0.05 and parse_temperature("learned") == "learned"
    for bad in ("hot", "0", "-1"):
        with pytest.raises(ValueError):
            parse_temperature(bad)


def test_distill_loss_is_zero_only_when_student_matches_teacher():
    t = torch.randn(8, 16)
    assert distill_loss(t * 3.0, t, contrastive_weight=0.0).item() == pytest.approx(0.0, abs=1e-6)
    assert distill_loss(torch.randn(8, 16), t, contrastive_weight=0.0).item() > 0.5
    assert distill_loss(t, t).item() < distill_loss(t.roll(1, 0), t).item()


def test_agreement():
    from edgebind.train.tasks import agreement
    anchors = np.eye(3)
    a = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1.0]])
    assert agreement(a, a, anchors) == 1.0
    assert agreement(a, a[[1, 2, 0]], anchors) == 0.0


def test_random_crop_keeps_shape_and_zooms_in():
    from edgebind.train.tasks import random_crop
    torch.manual_seed(0)
    ramp = torch.linspace(0, 1, 64).expand(4, 3, 64, 64).contiguous()  # brightness ramp in x
    assert torch.allclose(random_crop(ramp, 1.0), ramp, atol=1e-5)  # full side: unchanged
    out = random_crop(ramp, 0.5)
    assert out.shape == ramp.shape
    # A crop of side s spans s of the ramp: each image's range shrinks to between 0.5 and 1
    # of the original and stays inside it.
    span = out.amax(dim=(1, 2, 3)) - out.amin(dim=(1, 2, 3))
    assert (span > 0.45).all() and (span < 1.0).all() and (span < 0.99).any()
    assert out.min() >= 0.0 and out.max() <= 1.0
    with pytest.raises(ValueError, match="crop"):
        from edgebind.train.tasks import BindTask
        from edgebind import models
        BindTask(models.build("tiny", ["vision", "text"], device="meta"), "text", crop=1.5)
