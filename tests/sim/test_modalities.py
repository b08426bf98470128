"""Every event shows up in every modality, through nuisance, and never the same way twice.

Each check renders the same room at the same instant with and without the event: sensor noise
is seeded by room and time, so the difference is exactly what the event adds.
"""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.sim import EVENTS, QUIET
from edgebind.sim.compose import NS, Scene, Tracks, render_frames
from edgebind.sim.scenarios import occurrence, prepare_room, unocclude
from edgebind.sim.scene import random_room

ACTIVE = [e for e in EVENTS if e != QUIET]
SEEDS = (0, 1, 2)


def _pair(event: str, seed: int, start_s: float = 0.3, dur_s: float = 3.0):
    rng = np.random.default_rng(seed)
    room = random_room(rng, 1.0)
    prepare_room(room, rng, {event})
    occ = occurrence(event, rng, room, int(start_s * NS), dur_s, 1.0)
    unocclude(room, [occ])
    return Scene(room, [occ]), Scene(room, [])


def _frames(scene: Scene, t_s: float):
    return render_frames(scene, int(t_s * NS))


def _signals(scene: Scene, t0_s: float, t1_s: float):
    tr = Tracks(scene)
    n = int((t1_s - t0_s) * 16000)
    audio = tr.audio(int(t0_s * NS), n)
    rows = int(t0_s * NS) + np.arange(int((t1_s - t0_s) * 400), dtype=np.int64) * 2_500_000
    return audio, tr.imu(rows)


@pytest.mark.parametrize("event", ACTIVE)
def test_event_changes_every_camera_like_modality(event):
    for seed in SEEDS:
        ev, quiet = _pair(event, seed)
        a, b = _frames(ev, 1.5), _frames(quiet, 1.5)
        vis = np.abs(a["vision"].astype(np.int16) - b["vision"].astype(np.int16)).max(axis=2) > 12
        assert vis.mean() > 0.004, (event, seed, "vision", vis.mean())
        dep = np.abs(a["depth"] - b["depth"]) > 0.05
        assert dep.mean() > 0.002, (event, seed, "depth", dep.mean())
        th = np.abs(a["thermal"] - b["thermal"]) > 0.5
        assert th.mean() > 0.003, (event, seed, "thermal", th.mean())


@pytest.mark.parametrize("event", ACTIVE)
def test_event_changes_audio_and_imu(event):
    for seed in SEEDS:
        ev, quiet = _pair(event, seed)
        ae, ie = _signals(ev, 0.0, 2.5)
        aq, iq = _signals(quiet, 0.0, 2.5)
        # The event adds energy well above the room tone (at least 6 dB) ...
        gain_db = 10 * np.log10(np.mean(ae ** 2) / np.mean(aq ** 2))
        assert gain_db > 6.0, (event, seed, gain_db)
        # ... and moves the IMU beyond its own noise.
        added = ie - iq
        noise = (iq[:, :3] - iq[:, :3].mean(0)).std()
        assert np.abs(added[:, :3]).max() > 2.0 * noise, (event, seed, np.abs(added).max(), noise)


def test_quiet_room_is_quiet():
    _, quiet = _pair("footsteps", 5)
    a, imu = _signals(quiet, 0.0, 2.0)
    assert 20 * np.log10(np.sqrt(np.mean(a ** 2))) < -30.0
    assert np.all(np.abs(np.linalg.norm(imu[:, :3], axis=1) - 9.81) < 0.6)


@pytest.mark.parametrize("event", ACTIVE)
def test_event_appears_at_different_places_and_sounds(event):
    """No fixed pixel or fixed tone gives an event away: footprints and spectra vary."""
    masks, peaks = [], []
    for seed in range(6):
        ev, quiet = _pair(event, 100 + seed)
        a, b = _frames(ev, 1.5), _frames(quiet, 1.5)
        if event == "smoke_alarm":   # haze veils the whole frame; the source's hot spot moves
            masks.append(np.abs(a["thermal"] - b["thermal"]) > 5.0)
        else:
            masks.append(np.abs(a["vision"].astype(np.int16) - b["vision"].astype(np.int16)).max(axis=2) > 12)
        ae, _ = _signals(ev, 0.0, 2.5)
        spec = np.abs(np.fft.rfft(ae))
        peaks.append(np.argmax(spec[50:]) + 50)
    ious = []
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            inter = np.logical_and(masks[i], masks[j]).sum()
            union = np.logical_or(masks[i], masks[j]).sum()
            ious.append(inter / max(union, 1))
    assert np.mean(ious) < 0.5, (event, np.mean(ious))
    assert len(set(peaks)) >= 4, (event, peaks)


def test_rooms_vary():
    """Backgrounds, lighting and temperatures differ between rooms (nuisance)."""
    means, temps = [], []
    for seed in range(8):
        _, quiet = _pair("dog_barking", 200 + seed)
        f = _frames(quiet, 1.0)
        means.append(f["vision"].reshape(-1, 3).mean(0))
        temps.append(float(np.median(f["thermal"])))
    assert np.std(np.array(means), axis=0).min() > 8.0
    assert np.std(temps) > 1.0
