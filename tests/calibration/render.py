"""Synthetic ground truth for the calibration tests: checkerboard views from a known camera."""
from __future__ import annotations

import numpy as np

K_TRUE = np.array([[600.0, 0, 320.0], [0, 610.0, 244.0], [0, 0, 1]])
SIZE = (640, 480)


def board_texture(cols: int, rows: int, px: int = 40) -> np.ndarray:
    """A printed checkerboard with ``cols`` x ``rows`` inner corners, ``px`` pixels a square,
    one square of white margin."""
    h, w = (rows + 3) * px, (cols + 3) * px
    tex = np.full((h, w), 255, np.uint8)
    for r in range(rows + 1):
        for c in range(cols + 1):
            if (r + c) % 2 == 0:
                tex[(r + 1) * px:(r + 2) * px, (c + 1) * px:(c + 2) * px] = 0
    return tex


def poses(n: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Varied board poses (rvec, tvec) that keep a 0.27 x 0.18 m board in view."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        rvec = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(-0.3, 0.3)])
        z = rng.uniform(0.45, 0.75)
        tvec = np.array([rng.uniform(-0.22, 0.0), rng.uniform(-0.17, 0.0), z])
        out.append((rvec, tvec))
    return out


def render_view(rvec, tvec, cols: int = 9, rows: int = 6, square: float = 0.03,
                K: np.ndarray = K_TRUE, dist: np.ndarray | None = None,
                size: tuple[int, int] = SIZE, seed: int = 0) -> np.ndarray:
    """The board seen by camera K (and optional OpenCV distortion) at pose (rvec, tvec):
    board corners projected with cv2.projectPoints, the texture warped by the homography."""
    import cv2
    px = 40
    tex = board_texture(cols, rows, px)
    th, tw = tex.shape
    # texture pixel (u, v) <-> board point; inner corner (0, 0) sits at pixel 2*px - 0.5.
    src = np.array([[0, 0], [tw - 1, 0], [tw - 1, th - 1], [0, th - 1]], np.float64)
    obj = np.hstack([(src - (2 * px - 0.5)) * square / px, np.zeros((4, 1))])
    img_pts, _ = cv2.projectPoints(obj, np.asarray(rvec, float), np.asarray(tvec, float), K,
                                   np.zeros(5))
    H = cv2.getPerspectiveTransform(src.astype(np.float32), img_pts.reshape(4, 2).astype(np.float32))
    ideal = cv2.warpPerspective(tex, H, size, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=140)
    if dist is not None:
        # Each distorted output pixel samples the ideal image where it came from.
        u, v = np.meshgrid(np.arange(size[0], dtype=np.float32), np.arange(size[1], dtype=np.float32))
        pts = np.stack([u.ravel(), v.ravel()], 1).reshape(-1, 1, 2)
        und = cv2.undistortPoints(pts, K, np.asarray(dist, float), R=None, P=K, criteria=
                                  (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 1e-8))
        m = und.reshape(size[1], size[0], 2)
        ideal = cv2.remap(ideal, m[..., 0], m[..., 1], cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=140)
    rng = np.random.default_rng(seed)
    noisy = ideal.astype(np.float32) + rng.normal(0, 2.0, ideal.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)
