"""Long simulated runs keep bounded state: the per-occurrence audio/IMU tracks are forgotten
once an occurrence is over, and the room's render caches do not grow with time. Counts and
sizes of internal structures, not RSS, so the check is cheap and not flaky."""
from __future__ import annotations

import numpy as np

from edgebind.sim import World
from edgebind.sim.compose import NS, Tracks, render_frames


def test_tracks_are_forgotten_over_a_quarter_hour_of_events():
    # "overlap": events back to back, so tracks are built all the time.
    world = World("overlap", seed=5, duration_s=900.0)
    scene = world.scene
    assert len(scene.occurrences) > 70
    tracks = Tracks(scene)
    most, built = 0, set()
    rows0 = np.arange(20, dtype=np.int64) * (NS // 400)
    for t in range(world.start_ns, world.end_ns, NS):   # one IMU batch and audio chunk a second
        tracks.imu(t + rows0)
        tracks.audio(t, 512)
        built |= set(tracks._imu)
        tracks.forget_before(t)
        most = max(most, len(tracks._imu), len(tracks._audio))
        live = {id(o) for o in scene.overlapping(t - NS, t + 2 * NS)}
        live |= {id(o) for o in scene.overlapping(t - NS, t + 2 * NS, nuisance=True)}
        assert set(tracks._imu) <= live and set(tracks._audio) <= live
    assert len(built) > 70          # it did build tracks for the whole quarter hour...
    assert most <= 8                 # ...but never held more than the few around "now"


def test_render_caches_do_not_grow_with_time():
    world = World("default", seed=2, duration_s=7200.0)
    room = world.scene.room
    render_frames(world.scene, world.start_ns)
    keys = set(room._cache)
    for t in np.linspace(world.start_ns + NS, world.end_ns - NS, 12).astype(np.int64):
        render_frames(world.scene, int(t))
    assert set(room._cache) == keys


def test_world_samples_hold_only_the_current_tracks():
    world = World("overlap", seed=7, duration_s=120.0)
    it = world.samples(["imu"])
    most = 0
    for i, s in enumerate(it):
        if i % 20 == 0:
            tracks = it.gi_frame.f_locals["tracks"]
            most = max(most, len(tracks._imu), len(tracks._audio))
    assert i + 1 == 120 * 20 and 0 < most <= 8


def test_background_noise_blocks_are_few_and_order_independent():
    from edgebind.sim import audio

    world = World("quiet", seed=3, duration_s=3600.0)
    t = [world.start_ns + k * 512 * NS // 16000 for k in range(0, 3600 * 16000 // 512, 97)]
    fresh = [audio.background(World("quiet", seed=3, duration_s=3600.0).scene, u, 512)
             for u in t[::40]]
    for u in t:                          # an hour of chunks, forwards...
        audio.background(world.scene, u, 512)
        assert len(world.scene.room._cache["audio_pink"]) <= audio._PINK_KEEP
    for u, ref in zip(t[::40][::-1], fresh[::-1]):    # ...then backwards: same samples
        assert np.array_equal(audio.background(world.scene, u, 512), ref)
    assert len(world.scene.room._cache["audio_pink"]) <= audio._PINK_KEEP
