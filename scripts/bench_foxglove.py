"""CPU cost of the live Foxglove view (``edgebind run --foxglove``); prints one JSON object.

The simulated robot's five streams (camera and depth 15 fps 224×224, thermal 8 fps, audio
16 kHz in 512-frame chunks, IMU 400 Hz in batches of 20) are rendered once, then replayed in
real time on the host monotonic clock into, in turn: nothing (the baseline: the replay loop
itself), a bridge nobody is connected to, and a bridge with one client subscribed to every
topic (a separate process, so its own CPU is not counted). Each run reports the process CPU
time (all threads, the SDK's server included) per wall second; the bridge's cost is a run
minus the baseline, in percent of one core. Targets (issue 17): <= 10 % with one client,
<= 1 % with none, at the default rates (images capped at 10 fps each).

    python scripts/bench_foxglove.py                  # ~1 minute (3 × 15 s)
    python scripts/bench_foxglove.py --seconds 30
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLIENT = """
import asyncio, json, sys, websockets
async def main(url, seconds):
    async with websockets.connect(url, subprotocols=["foxglove.sdk.v1"], max_size=None) as ws:
        chans = []
        while not chans:
            m = json.loads(await ws.recv())
            if m.get("op") == "advertise":
                chans = m["channels"]
        await ws.send(json.dumps({"op": "subscribe", "subscriptions": [
            {"id": i + 1, "channelId": c["id"]} for i, c in enumerate(chans)]}))
        print("subscribed", flush=True)
        n = b = 0
        loop = asyncio.get_running_loop(); end = loop.time() + seconds
        while loop.time() < end:
            try:
                f = await asyncio.wait_for(ws.recv(), end - loop.time())
            except (asyncio.TimeoutError, websockets.ConnectionClosed):
                break   # the bridge stops when the replay ends
            n += 1; b += len(f)
        print(json.dumps({"frames": n, "bytes": b}), flush=True)
asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


def render(seconds: float) -> list:
    from edgebind.sim import World
    world = World("default", seed=0, duration_s=max(seconds, 20.0))
    return [s for s in world.samples() if s.t_ns < seconds * 1e9 + world.start_ns]


def replay(samples: list, sink) -> dict[str, float]:
    """Feed ``samples`` in real time; CPU seconds per wall second of this process."""
    t0_ns = samples[0].t_ns
    wall0, cpu0 = time.monotonic(), time.process_time()
    for s in samples:
        delay = wall0 + (s.t_ns - t0_ns) / 1e9 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if sink is not None:
            sink(s)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 4),
            "cpu_percent_of_one_core": round(100 * cpu / wall, 3)}


def with_bridge(samples: list, infos: list, client_s: float | None) -> dict:
    from edgebind.foxglove import FoxgloveBridge
    bridge = FoxgloveBridge(infos, "127.0.0.1", 0).start()
    client = None
    try:
        if client_s is not None:
            client = subprocess.Popen([sys.executable, "-c", CLIENT, bridge.url, str(client_s)],
                                      stdout=subprocess.PIPE, text=True)
            assert client.stdout is not None and client.stdout.readline().strip() == "subscribed"
            time.sleep(0.3)
        run = replay(samples, bridge.on_sample)
        run["bridge"] = bridge.stats()
    finally:
        bridge.stop()
    if client is not None:
        out, _ = client.communicate(timeout=client_s + 30)
        run["client"] = json.loads(out.strip().splitlines()[-1])
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=15.0, help="real-time seconds per run")
    args = ap.parse_args()
    samples = render(args.seconds)
    from edgebind.sim import World
    infos = World("default", seed=0, duration_s=20.0).stream_infos
    base = replay(samples, None)
    idle = with_bridge(samples, infos, None)
    one = with_bridge(samples, infos, args.seconds + 5)
    from edgebind.runtime.cpu import detect
    pct = "cpu_percent_of_one_core"
    print(json.dumps({
        "streams": [i.to_dict() for i in infos], "samples": len(samples),
        "cpu_count": os.cpu_count(), "cpu": detect().to_dict(), "seconds": args.seconds,
        "baseline": base, "no_client": idle, "one_client": one,
        "bridge_percent_of_one_core": {"no_client": round(idle[pct] - base[pct], 3),
                                       "one_client": round(one[pct] - base[pct], 3)},
        "targets_percent": {"no_client": 1.0, "one_client": 10.0}}, indent=1))


if __name__ == "__main__":
    main()
