"""Camera intrinsics from checkerboard views rendered by a known camera."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgebind.calibration import camera
from tests.calibration.render import K_TRUE, SIZE, poses, render_view

BOARD = camera.Board(cols=9, rows=6, square=0.03)


def _views(n: int, dist=None):
    return [render_view(r, t, dist=dist, seed=i) for i, (r, t) in enumerate(poses(n))]


def _fit(images):
    objs, imgs = [], []
    for img in images:
        found = camera.detect(img, BOARD)
        assert found is not None
        objs.append(found[0])
        imgs.append(found[1])
    return camera.calibrate(objs, imgs, SIZE)


def test_intrinsics_within_one_percent():
    fit = _fit(_views(12))
    K = fit.K
    for got, want in ((K[0, 0], 600.0), (K[1, 1], 610.0), (K[0, 2], 320.0), (K[1, 2], 244.0)):
        assert got == pytest.approx(want, rel=0.01)
    assert fit.rms < 0.5
    assert np.abs(fit.dist[:2]).max() < 0.1


def test_distortion_is_recovered():
    dist = np.array([-0.2, 0.05, 0.0, 0.0, 0.0])
    fit = _fit(_views(14, dist))
    assert fit.K[0, 0] == pytest.approx(600.0, rel=0.01)
    assert fit.K[1, 1] == pytest.approx(610.0, rel=0.01)
    assert fit.dist[0] == pytest.approx(-0.2, abs=0.03)
    # Undistorting a corner of the image with the estimate agrees with the truth (< 1 px).
    pt = np.array([[[20.0, 20.0]]], np.float32)
    want = cv2.undistortPoints(pt, K_TRUE, dist, P=K_TRUE)
    got = cv2.undistortPoints(pt, fit.K, fit.dist, P=fit.K)
    assert np.abs(want - got).max() < 1.0


def test_coverage_grid_shows_missing_regions():
    # Board only ever on the left half: the right columns need views.
    pts = [np.array([[10.0, 10.0], [300.0, 470.0], [150.0, 200.0]])]
    cov = camera.coverage(pts, SIZE, (4, 4))
    assert cov.sum() == 3 and cov[:, 2:].sum() == 0
    gaps = camera.describe_gaps(cov)
    assert "top-right (row 1, col 4)" in gaps and not any("left (" in g for g in gaps[:1] if "top-left" in g)


def test_too_few_views_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 3 views"):
        camera.calibrate([BOARD.object_points()], [np.zeros((54, 2), np.float32)], SIZE)


def test_no_board_in_blank_image():
    assert camera.detect(np.full((480, 640), 128, np.uint8), BOARD) is None


@pytest.mark.skipif(not hasattr(cv2, "aruco"), reason="OpenCV without aruco")
def test_charuco_views():
    board = camera.Board("charuco", cols=7, rows=5, square=0.04, marker=0.03)
    cb = board.charuco()
    tex = cb.generateImage((7 * 80 + 80, 5 * 80 + 80), marginSize=40)
    th, tw = tex.shape
    objs, imgs = [], []
    for i, (r, t) in enumerate(poses(10, seed=3)):
        # Texture pixel -> board metres (square = 80 px, margin 40 px), project, warp.
        src = np.array([[0, 0], [tw - 1, 0], [tw - 1, th - 1], [0, th - 1]], np.float64)
        obj = np.hstack([(src - 40 + 0.5) * 0.04 / 80, np.zeros((4, 1))])
        ip, _ = cv2.projectPoints(obj, r, t, K_TRUE, np.zeros(5))
        H = cv2.getPerspectiveTransform(src.astype(np.float32), ip.reshape(4, 2).astype(np.float32))
        img = cv2.warpPerspective(tex, H, SIZE, borderValue=140)
        found = camera.detect(img, board)
        if found is not None:
            objs.append(found[0])
            imgs.append(found[1])
    assert len(imgs) >= 6
    fit = camera.calibrate(objs, imgs, SIZE)
    assert fit.K[0, 0] == pytest.approx(600.0, rel=0.02)
    assert fit.K[1, 1] == pytest.approx(610.0, rel=0.02)
