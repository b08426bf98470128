"""Microphone: event sounds, unlabelled distractor sounds, room background; 16 kHz mono [-1, 1].

Each occurrence's sound is synthesised once as a whole *track* (dry, at 1 m, then room reverb
and distance) from its parameters; the mix at any time is the background plus the overlapping
slices of the tracks, so streaming chunks and training windows hear the same thing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from edgebind.sim.actors import footfalls
from edgebind.sim.fixtures import rattles
from edgebind.sim.scene import Room

if TYPE_CHECKING:
    from edgebind.sim.compose import Scene

RATE = 16000
TAIL_S = 0.4   # reverb tail kept after an occurrence ends
_PINK_KEEP = 3  # 1 s background-noise blocks cached per room


def _t(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32) / RATE


def _fft_len(n: int) -> int:
    return 1 << max(int(n) - 1, 15).bit_length()


def band_noise(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """White noise limited to [lo, hi] Hz (FFT mask), unit RMS."""
    m = _fft_len(n)
    spec = np.fft.rfft(rng.standard_normal(m).astype(np.float32))
    f = np.fft.rfftfreq(m, 1.0 / RATE)
    spec[(f < lo) | (f > hi)] = 0
    x = np.fft.irfft(spec, m)[:n].astype(np.float32)
    return x / (np.sqrt(np.mean(x * x)) + 1e-9) if n else x


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    m = _fft_len(n)
    spec = np.fft.rfft(rng.standard_normal(m).astype(np.float32))
    f = np.fft.rfftfreq(m, 1.0 / RATE)
    spec /= np.sqrt(np.maximum(f, 20.0))
    x = np.fft.irfft(spec, m)[:n].astype(np.float32)
    return x / (np.sqrt(np.mean(x * x)) + 1e-9) if n else x


def mix_in(track: np.ndarray, at_s: float, sig: np.ndarray, rate: int = RATE) -> None:
    """Mix ``sig`` into ``track`` starting ``at_s`` seconds in (clipped at both ends)."""
    i = int(round(at_s * rate))
    if i >= len(track) or i + len(sig) <= 0:
        return
    j0 = max(0, -i)
    j1 = min(len(sig), len(track) - i)
    track[i + j0:i + j1] += sig[j0:j1]


def _decay_tone(f: float, dur: float, tau: float, amp: float, phase: float = 0.0) -> np.ndarray:
    t = _t(int(dur * RATE))
    return (amp * np.exp(-t / tau) * np.sin(2 * np.pi * f * t + phase)).astype(np.float32)


def _burst(rng: np.random.Generator, dur: float, tau: float, lo: float, hi: float, amp: float) -> np.ndarray:
    n = max(int(dur * RATE), 32)
    return (amp * np.exp(-_t(n) / tau) * band_noise(rng, n, lo, hi)).astype(np.float32)


def _harmonic(f0: np.ndarray, amps: list[float]) -> np.ndarray:
    """Sum of harmonics of a time-varying f0 (Hz per sample), kept under Nyquist."""
    ph = 2 * np.pi * np.cumsum(f0) / RATE
    out = np.zeros(len(f0), np.float32)
    for k, a in enumerate(amps, start=1):
        out += (a * np.sin(k * ph) * (k * f0 < RATE / 2 - 200)).astype(np.float32)
    return out


def _env(n: int, attack: float, release: float) -> np.ndarray:
    t = _t(n)
    dur = n / RATE
    return np.clip(np.minimum(t / max(attack, 1e-3), (dur - t) / max(release, 1e-3)), 0, 1).astype(np.float32)


def _glass_sound(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float) -> None:
    """The crash, then a shower of tinkling fragments."""
    mix_in(tr, 0.0, _burst(rng, 0.12, 0.025, 300, 7800, 0.9 * k))
    mix_in(tr, 0.0, _burst(rng, 0.25, 0.06, 2000, 7800, 0.35 * k))
    n_t = int(rng.integers(40, 90))
    onsets = np.concatenate([rng.exponential(0.3, n_t // 2), 0.35 + rng.exponential(0.35, n_t - n_t // 2)])
    for on in onsets:
        if on < p["duration_s"]:
            f = float(rng.uniform(2800, 7800))
            mix_in(tr, float(on), _decay_tone(f, 0.12, float(rng.uniform(0.01, 0.05)),
                                            float(rng.uniform(0.05, 0.3)) * k * np.exp(-on / 1.2),
                                            float(rng.uniform(0, 6.28))))


def _bark_sound(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float) -> None:
    for b in p["barks"]:
        dur = float(rng.uniform(0.11, 0.22))
        m = int(dur * RATE)
        s = _t(m) / dur
        f0 = p["f0"] * float(rng.uniform(0.85, 1.15)) * (1.0 + 0.35 * np.sin(np.pi * s) - 0.15 * s)
        amps = [1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.12, 0.08]
        voice = _harmonic(f0.astype(np.float32), amps)
        voice += 0.2 * band_noise(rng, m, 400, 4000)
        e = (np.minimum(s / 0.08, 1.0) * np.exp(-3.0 * s)).astype(np.float32)
        mix_in(tr, b, 0.35 * k * voice * e)


def _alarm_sound(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float) -> None:
    """The same T3 gate as actors.beeping, sample-exact."""
    n = len(tr)
    t = _t(n)
    f = p["beep_hz"]
    tone = np.sin(2 * np.pi * f * t)
    if 2 * f < RATE / 2 - 200:     # harmonics above Nyquist would alias
        tone += 0.3 * np.sin(2 * np.pi * 2 * f * t)
    c = (t + p["phase"]) % 4.0
    gate = ((c < 3.0) & ((c % 1.0) < 0.5)).astype(np.float32)
    cs = np.concatenate([np.zeros(41, np.float32), np.cumsum(gate), np.full(40, gate.sum(), np.float32)])
    gate = (cs[80:80 + n] - cs[:n]) / np.float32(80.0)   # 5 ms ramps (moving average)
    tr += (0.3 * k * tone * gate).astype(np.float32)


def _step_sound(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float) -> None:
    """A thud per footfall, plus the shoe's click or scuff."""
    period, step = footfalls(p)
    while step < p["duration_s"]:
        a = k * float(rng.uniform(0.7, 1.2))
        mix_in(tr, step, _decay_tone(float(rng.uniform(55, 110)), 0.12, 0.03, 0.5 * a))
        if p["shoe"] == "soft":
            mix_in(tr, step, _burst(rng, 0.06, 0.015, 100, 1500, 0.12 * a))
        else:
            hi = 7000 if p["shoe"] == "heel" else 4000
            mix_in(tr, step + 0.005, _burst(rng, 0.03, 0.006, 800, hi, 0.3 * a))
        step += period * float(rng.uniform(0.95, 1.05))


def _slam_sound(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float) -> None:
    """The swing's whoosh, the slam, and a rattle each time the rebounding door hits the frame."""
    ti = p["t_impact"]
    mix_in(tr, 0.0, 0.05 * k * band_noise(rng, int(ti * RATE), 150, 900) * _env(int(ti * RATE), ti * 0.9, 0.01))
    mix_in(tr, ti, _decay_tone(float(rng.uniform(45, 90)), 0.6, 0.12, 0.9 * k))
    mix_in(tr, ti, _burst(rng, 0.4, 0.05, 60, 3000, 0.8 * k))
    mix_in(tr, ti, _burst(rng, 0.3, 0.03, 1500, 6000, 0.15 * k))
    for s, prev in rattles(p):
        mix_in(tr, s, _burst(rng, 0.12, 0.02, 80, 2500, 0.25 * k * min(1.0, prev / 10)))


def _fall_sound(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float) -> None:
    """Scuffling, the body hitting the floor, a second knock, and sometimes a groan."""
    ti = p["t_impact"]
    m = int(0.45 * RATE)
    mix_in(tr, max(ti - 0.45, 0.0), 0.08 * k * band_noise(rng, m, 800, 5000) * _env(m, 0.2, 0.05))
    mix_in(tr, ti, _decay_tone(float(rng.uniform(40, 80)), 0.5, 0.09, 0.55 * k))
    mix_in(tr, ti, _burst(rng, 0.3, 0.05, 50, 1500, 0.45 * k))
    mix_in(tr, ti + float(rng.uniform(0.07, 0.15)), _burst(rng, 0.2, 0.03, 80, 2000, 0.35 * k))
    if rng.random() < 0.5:   # a groan
        m = int(0.6 * RATE)
        f0 = float(rng.uniform(110, 200)) * (1.0 - 0.15 * _t(m) / 0.6)
        mix_in(tr, ti + 0.5, 0.06 * k * _harmonic(f0.astype(np.float32), [1, 0.6, 0.4, 0.2]) * _env(m, 0.1, 0.3))


def _machine_sound(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float) -> None:
    """Mains hum harmonics modulated by the rotor, over broadband fan noise."""
    n = len(tr)
    t = _t(n)
    f0 = p["hum_hz"]
    hum = np.zeros(n, np.float32)
    for h in range(1, 8):
        hum += float(rng.uniform(0.2, 1.0) / h) * np.sin(2 * np.pi * f0 * h * t + float(rng.uniform(0, 6.28)))
    am = 1.0 + 0.25 * np.sin(2 * np.pi * p["rpm"] / 60.0 * t)
    broad = band_noise(rng, n, 200, float(rng.uniform(2500, 6000)))
    tr += (k * (0.12 * hum * am + 0.05 * broad) * _env(n, 0.3, 0.2)).astype(np.float32)


# event -> fn(track, rng, params, intensity) adding its sound (quiet_room is silent).
_SOUNDS: dict[str, Callable[[np.ndarray, np.random.Generator, dict[str, Any], float], None]] = {
    "glass_breaking": _glass_sound, "dog_barking": _bark_sound, "smoke_alarm": _alarm_sound,
    "footsteps": _step_sound, "door_slamming": _slam_sound, "person_falling": _fall_sound,
    "machine_running": _machine_sound,
}


def dry_track(event: str, p: dict[str, Any]) -> np.ndarray:
    """The sound of one occurrence at 1 m, before the room: float32 (duration * RATE,)."""
    rng = np.random.default_rng([p["seed"], 101])
    tr = np.zeros(int(p["duration_s"] * RATE), np.float32)
    sound = _SOUNDS.get(event)
    if sound is not None:
        sound(tr, rng, p, p["intensity"])
    return tr


def nuisance_track(kind: str, p: dict[str, Any]) -> np.ndarray:
    """Unlabelled distractor sounds at 1 m (may be silent for vibration-only nuisance)."""
    rng = np.random.default_rng([p["seed"], 102])
    n = int(p["duration_s"] * RATE)
    tr = np.zeros(n, np.float32)
    k = p["intensity"]
    if kind == "beep":          # a microwave / phone: one or two short beeps, not T3
        f = float(rng.uniform(900, 2600))
        for j in range(int(rng.integers(1, 3))):
            mix_in(tr, 0.05 + 0.25 * j, 0.15 * k * _decay_tone(f, 0.12, 10.0, 1.0) * _env(int(0.12 * RATE), 0.005, 0.005))
    elif kind == "knock":       # a single knock on furniture
        mix_in(tr, 0.05, _burst(rng, 0.15, 0.02, 150, 3000, 0.25 * k))
    elif kind == "chatter":     # distant speech-like babble
        t = _t(n)
        f0 = float(rng.uniform(100, 230)) * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
        v = _harmonic(f0.astype(np.float32), [1, 0.7, 0.5, 0.4, 0.3, 0.2])
        syl = (0.5 + 0.5 * np.sin(2 * np.pi * float(rng.uniform(3, 5)) * t)) ** 2
        tr += (0.05 * k * v * syl * _env(n, 0.2, 0.2)).astype(np.float32)
    elif kind == "music":       # a few plucked notes
        for j in range(int(p["duration_s"] * 3)):
            f = 220 * 2 ** (int(rng.integers(0, 12)) / 12)
            mix_in(tr, j / 3, 0.04 * k * _decay_tone(f, 0.3, 0.15, 1.0))
    return tr


def room_ir(room: Room) -> np.ndarray:
    """A room impulse response: the direct path, then exponentially decaying diffuse noise."""
    key = "audio_ir"
    if key not in room._cache:
        rng = np.random.default_rng([room.seed, 55])
        rt60 = float(rng.uniform(0.2, 0.7))
        n = int(min(rt60, TAIL_S) * RATE)
        t = _t(n)
        ir = rng.standard_normal(n).astype(np.float32) * np.exp(-6.9 * t / rt60) * float(rng.uniform(0.04, 0.1))
        ir[0] = 1.0
        room._cache[key] = ir.astype(np.float32)
    return room._cache[key]


def wet(track: np.ndarray, room: Room, distance_m: float) -> np.ndarray:
    """Through the room to the microphone: reverb (FFT convolution) and distance loss."""
    ir = room_ir(room)
    m = len(track) + len(ir) - 1
    nfft = 1 << (m - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(track, nfft) * np.fft.rfft(ir, nfft), nfft)[:len(track) + int(TAIL_S * RATE)]
    y = y[:len(track) + int(TAIL_S * RATE)]
    out = np.zeros(len(track) + int(TAIL_S * RATE), np.float32)
    out[:len(y)] = y
    return out * np.float32(0.55 / max(distance_m, 1.0) ** 0.8)


def source_distance(event: str, p: dict[str, Any], room: Room) -> float:
    if "z" in p:
        return float(p["z"])
    if event == "smoke_alarm":
        return room.wall_z
    if event in ("glass_breaking", "door_slamming"):
        return room.wall_z
    return float(p.get("distance", 2.0))


def background(scene: Scene, t0_ns: int, n: int) -> np.ndarray:
    """Room tone: pink noise (1 s blocks seeded by their index, so chunks agree) plus a faint
    mains/HVAC hum; level from the room's noise settings."""
    room = scene.room
    level = 10 ** (room.noise["audio_db"] / 20)
    b0 = t0_ns // 1_000_000_000
    i0 = int(round((t0_ns - b0 * 1_000_000_000) * RATE / 1e9))
    blocks = []
    need = i0 + n
    b = b0
    # The last few blocks are kept (streaming reads ~31 chunks per block); bounded, so a
    # long run holds at most _PINK_KEEP seconds of noise.
    recent: dict[int, np.ndarray] = room._cache.setdefault("audio_pink", {})
    while sum(len(x) for x in blocks) < need:
        blk = recent.get(b)
        if blk is None:
            blk = pink_noise(np.random.default_rng([room.seed, 77, int(b) & 0xFFFFFFFF]), RATE)
            recent[b] = blk
            for old in list(recent)[:-_PINK_KEEP]:    # the oldest inserted; b is the newest
                recent.pop(old, None)
        blocks.append(blk)
        b += 1
    x = np.concatenate(blocks)[i0:i0 + n] * np.float32(level)
    t = (t0_ns / 1e9 + np.arange(n) / RATE).astype(np.float64)
    hrng = np.random.default_rng([room.seed, 78])
    mains = 50.0 if hrng.random() < 0.5 else 60.0
    hum_level = level * float(hrng.uniform(0.0, 0.8))
    x += (hum_level * (np.sin(2 * np.pi * mains * t) + 0.5 * np.sin(2 * np.pi * 2 * mains * t))).astype(np.float32)
    return x.astype(np.float32)


def mic_gain(room: Room) -> float:
    return float(10 ** (room.noise["audio_gain_db"] / 20))
