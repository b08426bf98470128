"""Camera intrinsics and distortion from checkerboard or ChArUco views (OpenCV), with the
reprojection error and coverage feedback: which parts of the image still need views."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from edgebind.profile import CameraCalibration, Profile

from edgebind.calibration.report import Check, Result, plot_path, progress, pyplot, save_figure

HELP = "camera: intrinsics + distortion from checkerboard/ChArUco views, coverage feedback"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Board:
    """A calibration target. ``cols`` × ``rows`` are squares for ChArUco and *inner corners*
    for a checkerboard (OpenCV's convention for each); ``square`` and ``marker`` in metres."""

    kind: str = "checkerboard"
    cols: int = 9
    rows: int = 6
    square: float = 0.025
    marker: float = 0.018
    dictionary: str = "DICT_5X5_100"

    def object_points(self) -> np.ndarray:
        """Checkerboard inner corners on the z = 0 plane, row-major as OpenCV finds them."""
        g = np.mgrid[0:self.cols, 0:self.rows].T.reshape(-1, 2)
        return np.hstack([g * self.square, np.zeros((len(g), 1))]).astype(np.float32)

    def charuco(self) -> Any:
        import cv2
        if not hasattr(cv2, "aruco"):
            raise RuntimeError("ChArUco boards need OpenCV with the aruco module "
                               "(opencv-contrib-python or OpenCV >= 4.7)")
        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.cols, self.rows), self.square, self.marker, d)


@dataclass
class CameraFit:
    K: np.ndarray
    dist: np.ndarray
    rms: float
    per_view_rms: np.ndarray
    size: tuple[int, int]
    views: int
    image_points: list[np.ndarray] = field(default_factory=list)


def to_gray(img: np.ndarray) -> np.ndarray:
    import cv2
    img = np.asarray(img)
    if img.dtype != np.uint8:
        lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
        img = ((img - lo) / max(hi - lo, 1e-9) * 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return img.reshape(img.shape[:2])


def detect(gray: np.ndarray, board: Board) -> tuple[np.ndarray, np.ndarray] | None:
    """(object points (N,3), image points (N,2)) of the board in one grey image, or None."""
    import cv2
    if board.kind == "charuco":
        det = cv2.aruco.CharucoDetector(board.charuco())
        corners, ids, _, _ = det.detectBoard(gray)
        if ids is None or len(ids) < 6:
            return None
        obj = board.charuco().getChessboardCorners()[ids.reshape(-1)]
        return obj.astype(np.float32), corners.reshape(-1, 2).astype(np.float32)
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    ok, corners = cv2.findChessboardCorners(gray, (board.cols, board.rows), flags=flags)
    if not ok:
        return None
    corners = cv2.cornerSubPix(gray, corners, (5, 5), (-1, -1),
                               (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 1e-3))
    return board.object_points(), corners.reshape(-1, 2).astype(np.float32)


def calibrate(object_points: list[np.ndarray], image_points: list[np.ndarray],
              size: tuple[int, int]) -> CameraFit:
    """OpenCV calibration over the views; ``size`` is (width, height)."""
    import cv2
    if len(image_points) < 3:
        raise ValueError(f"camera calibration needs at least 3 views with the board found, "
                         f"got {len(image_points)}")
    rms, K, dist, rvecs, tvecs = cv2.calibrateCamera(
        [o.reshape(-1, 1, 3) for o in object_points], [i.reshape(-1, 1, 2) for i in image_points],
        size, None, None)
    per_view = []
    for o, i, r, t in zip(object_points, image_points, rvecs, tvecs):
        proj, _ = cv2.projectPoints(o.reshape(-1, 1, 3), r, t, K, dist)
        per_view.append(float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - i) ** 2, axis=1)))))
    return CameraFit(K, dist.reshape(-1), float(rms), np.array(per_view), size,
                     len(image_points), list(image_points))


def coverage(image_points: Iterable[np.ndarray], size: tuple[int, int],
             grid: tuple[int, int] = (4, 4)) -> np.ndarray:
    """Corner counts per cell of a ``grid`` (cols, rows) over the image: zeros need views."""
    w, h = size
    counts = np.zeros((grid[1], grid[0]), dtype=np.int64)
    for pts in image_points:
        p = np.asarray(pts).reshape(-1, 2)
        cx = np.clip((p[:, 0] / w * grid[0]).astype(int), 0, grid[0] - 1)
        cy = np.clip((p[:, 1] / h * grid[1]).astype(int), 0, grid[1] - 1)
        np.add.at(counts, (cy, cx), 1)
    return counts


def describe_gaps(counts: np.ndarray) -> list[str]:
    """Human names of empty cells (e.g. "top-left", "middle-right (row 2, col 4)")."""
    rows, cols = counts.shape
    out = []
    for r, c in zip(*np.nonzero(counts == 0)):
        v = "top" if r == 0 else "bottom" if r == rows - 1 else "middle"
        hz = "left" if c == 0 else "right" if c == cols - 1 else "centre"
        out.append(f"{v}-{hz} (row {r + 1}, col {c + 1})")
    return out


def frames_from_images(folder: Path) -> list[tuple[str, np.ndarray]]:
    import cv2
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"image folder {folder} has no images ({', '.join(IMAGE_SUFFIXES)})")
    out = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValueError(f"cannot read image {f}")
        out.append((f.name, img))
    return out


# -- the command -------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", type=Path, help="a folder of board images instead of a recording")
    p.add_argument("--board", choices=("checkerboard", "charuco"), default="checkerboard")
    p.add_argument("--cols", type=int, default=9,
                   help="checkerboard: inner corners across; ChArUco: squares across (default 9)")
    p.add_argument("--rows", type=int, default=6,
                   help="checkerboard: inner corners down; ChArUco: squares down (default 6)")
    p.add_argument("--square", type=float, default=0.025, help="square size in metres")
    p.add_argument("--marker", type=float, default=0.018, help="ChArUco marker size in metres")
    p.add_argument("--dictionary", default="DICT_5X5_100", help="ChArUco ArUco dictionary")
    p.add_argument("--max-views", type=int, default=40,
                   help="views to use from a recording, spread over it (default 40)")
    p.add_argument("--grid", type=int, nargs=2, default=(4, 4), metavar=("COLS", "ROWS"),
                   help="coverage grid (default 4 4)")


def _views(args: argparse.Namespace) -> tuple[list[tuple[str, np.ndarray]], str, str]:
    """(name, image) views from ``--images`` or spread over a recording, the stream and device."""
    if args.images is not None:
        return frames_from_images(args.images), args.stream or "camera", ""
    from edgebind.calibration.data import read_frames, stream_info
    from edgebind.calibration.imu import _one_recording
    from edgebind.record import open_recording
    rec = _one_recording(args)
    info = stream_info(rec, args.stream, ("vision", "thermal"))
    with open_recording(rec) as rep:
        n = rep.summary().channels[info.stream].message_count
    every = max(1, n // max(1, 3 * args.max_views))
    fs = read_frames(rec, info.stream, ("vision", "thermal"), every=every, show=args.progress)
    return [(f"t={t}", f) for t, f in zip(fs.t_ns.tolist(), fs.frames)], info.stream, info.device


def find_boards(frames: list[tuple[str, np.ndarray]], board: Board, max_views: int,
                show: bool = False) -> tuple[list[np.ndarray], list[np.ndarray], list[str], tuple[int, int]]:
    """(object points, image points, view names, (width, height)) of the views where the board
    is found, at most ``max_views`` of them spread evenly; every view must have the same size."""
    objs, imgs, used, size = [], [], [], None
    for name, img in progress(frames, len(frames), "find board", show):
        gray = to_gray(img)
        s = (gray.shape[1], gray.shape[0])
        if size is None:
            size = s
        elif s != size:
            raise ValueError(f"view {name} is {s[0]}x{s[1]}, earlier views are {size[0]}x{size[1]}")
        found = detect(gray, board)
        if found is not None:
            objs.append(found[0])
            imgs.append(found[1])
            used.append(name)
    if len(imgs) > max_views:  # keep an even spread
        keep = np.linspace(0, len(imgs) - 1, max_views).round().astype(int)
        objs, imgs, used = [objs[i] for i in keep], [imgs[i] for i in keep], [used[i] for i in keep]
    if len(imgs) < 3:
        raise ValueError(f"the {board.kind} ({board.cols}x{board.rows}) was found in only "
                         f"{len(imgs)} of {len(frames)} views; need at least 3 (check --board, "
                         "--cols and --rows: a checkerboard counts inner corners)")
    return objs, imgs, used, size


def _plot_coverage(out: Path, fit: CameraFit, cov: np.ndarray, image_points: list[np.ndarray]) -> None:
    plt = pyplot()
    size = fit.size
    fig, ax = plt.subplots(figsize=(6, 6 * size[1] / size[0]))
    ax.imshow(cov, extent=(0, size[0], size[1], 0), cmap="Greens", alpha=0.6)
    for pts in image_points:
        ax.plot(pts[:, 0], pts[:, 1], ".", ms=2)
    ax.set_xlim(0, size[0])
    ax.set_ylim(size[1], 0)
    ax.set_title(f"board corners per region ({fit.views} views, RMS {fit.rms:.2f} px)")
    save_figure(fig, out)


def _result(stream: str, fit: CameraFit, cov: np.ndarray, used: list[str], views_seen: int) -> Result:
    """Estimates, checks and advice (coverage gaps, a view that fits badly)."""
    gaps = describe_gaps(cov)
    res = Result("camera", stream)
    res.estimates.update({
        "fx": fit.K[0, 0], "fy": fit.K[1, 1], "cx": fit.K[0, 2], "cy": fit.K[1, 2],
        "dist": fit.dist, "rms_px": fit.rms, "views_used": fit.views, "views_seen": views_seen,
        "size": list(fit.size), "K": fit.K, "per_view_rms_px": dict(zip(used, fit.per_view_rms.tolist())),
        "coverage": cov, "coverage_gaps": gaps})
    res.checks += [
        Check("reprojection RMS", fit.rms, 0.5, unit="px"),
        Check("views with the board", fit.views, 10, ">="),
        Check("image coverage", float(np.mean(cov > 0)), 0.8, ">="),
    ]
    if gaps:
        res.notes.append("add views with the board in: " + ", ".join(gaps))
    worst = int(np.argmax(fit.per_view_rms))
    if fit.per_view_rms[worst] > 3 * max(fit.rms, 0.1):
        res.notes.append(f"view {used[worst]} fits badly ({fit.per_view_rms[worst]:.2f} px): "
                         "motion blur or a mis-detected board? consider removing it")
    return res


def run(args: argparse.Namespace, profile: Profile) -> Result:
    board = Board(args.board, args.cols, args.rows, args.square, args.marker, args.dictionary)
    if board.kind == "charuco":
        board.charuco()  # fail early if aruco is missing
    frames, stream, device = _views(args)
    objs, imgs, used, size = find_boards(frames, board, args.max_views, args.progress)
    fit = calibrate(objs, imgs, size)
    cov = coverage(imgs, size, tuple(args.grid))
    res = _result(stream, fit, cov, used, len(frames))
    out = plot_path(args.plot_dir, f"camera_coverage_{stream}.png")
    if out is not None:
        _plot_coverage(out, fit, cov, imgs)
        res.plots.append(str(out))
    sec = profile.stream(stream)
    sec.camera = CameraCalibration(fit.K, _dist5(fit.dist), size, fit.rms)
    sec.sensor = device or sec.sensor
    return res


def _dist5(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype=np.float64).reshape(-1)
    return d if d.size in (4, 5, 8, 12, 14) else np.pad(d, (0, 5 - d.size))[:5]
