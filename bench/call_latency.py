"""Call latency: button press to the call.raised event at a subscriber, beside the floor (target p99 <= 1.5x).

N presses go through the mock GPIO pin of a `hub run --simulate` subprocess (control socket request
`sim press --button 17`, the same one `hub sim press` sends) to a private mosquitto. Latency is the
event's `ts` (the button's first edge, stamped by the hub) to the message's arrival at a QoS 1
subscriber. Each call is acknowledged through cmd/ack, and the bench waits for call.acknowledged, so
the next press raises a new call rather than repeating the open one.

The floor is what any hub on this machine must pay: one SQLite insert+commit (WAL, synchronous=FULL)
and one paho QoS 1 publish, timed to arrival at the same subscriber. Floor samples are interleaved
with the presses (one each per round) so load from other processes hits both alike.

The envelope's `ts` has millisecond resolution, rounded to the nearest millisecond, so each hub sample
is off by up to ±0.5 ms (0 on average); the floor is therefore also shown with its start rounded the
same way, and the target ratio is taken like for like.

Run: python bench/call_latency.py [--n 200]
"""

from __future__ import annotations

import json
import math
import sqlite3
import statistics
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PREFIX,
    Recorder,
    bench_args,
    connect_publisher,
    hub_env,
    load_line,
    percentile,
    scratch,
    start_broker,
)

HUB = "bench-call"
BUTTON = "17"


class Floor:
    """One durable insert and one QoS 1 publish per sample; arrival seen by the shared recorder."""

    def __init__(self, port: int, dbdir: Path, rec: Recorder) -> None:
        self.db = sqlite3.connect(dbdir / "floor.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS q (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                        "id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)")
        self.pub = connect_publisher(port, "bench-floor-pub")
        self.rec = rec
        self.topic = "bench/floor/event/call"
        self.resume = 0

    def sample(self) -> tuple[float, float] | None:
        """(exact start, start rounded to ms) -> arrival deltas in seconds."""
        t0 = time.time()
        event_id = str(uuid.uuid4())
        body = json.dumps({"v": 1, "id": event_id, "hub": HUB, "type": "call.raised", "ts": t0,
                           "seq": 0, "data": {"kind": "emergency", "button": 17}}, separators=(",", ":"))
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO q (id, body) VALUES (?, ?)", (event_id, body))
        self.db.execute("COMMIT")
        self.pub.publish(self.topic, body, qos=1)
        found, self.resume = self.rec.wait(lambda m: m[1] == self.topic and m[2].get("id") == event_id,
                                           5, self.resume)
        if found is None:
            return None
        arrival = found[0]
        return arrival - t0, arrival - math.floor(t0 * 1000 + 0.5) / 1000

    def close(self) -> None:
        self.pub.loop_stop()
        self.pub.disconnect()
        self.db.close()


def press_once(hub, rec: Recorder, resume: int) -> tuple[float | None, int]:
    """One press; returns (ts -> arrival in seconds, recorder index) after the call is acked."""
    outcome = hub.sim("press", "--button", BUTTON, timeout=30)
    if outcome.get("outcome") != "raised":
        raise RuntimeError(f"press did not raise a new call: {outcome}")
    call_id = outcome["event_id"]
    found, resume = rec.wait(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 10, resume)
    latency = None
    if found is not None:
        latency = found[0] - datetime.fromisoformat(found[2]["ts"]).timestamp()
    rec.client.publish(f"{PREFIX}/{HUB}/cmd/ack", json.dumps({"event_id": call_id, "by": "bench"}), qos=1)
    acked, resume = rec.wait(lambda m: isinstance(m[2], dict) and m[2].get("type") == "call.acknowledged"
                             and m[2].get("data", {}).get("call_id") == call_id, 10, resume)
    if acked is None:
        raise RuntimeError(f"call {call_id} was never acknowledged; hub log:\n{hub.log_tail(10)}")
    return latency, resume


def ms(x: float) -> str:
    return f"{x * 1000:7.2f} ms"


def main() -> int:
    args = bench_args(__doc__, 200).parse_args()
    print(f"call latency: {args.n} presses; {load_line()}")
    with scratch(args.keep) as root:
        broker = start_broker(root)
        rec = None
        floor = None
        try:
            rec = Recorder(broker.port, [f"{PREFIX}/{HUB}/#", "bench/floor/#"], client_id="bench-call-sub")
            with hub_env(root, broker, HUB) as hub:
                if not rec.wait_online(HUB):
                    raise RuntimeError(f"hub never came online:\n{hub.log_tail(10)}")
                floor = Floor(broker.port, root, rec)
                for _ in range(5):  # warm-up: page cache, first WAL frames, paho code paths
                    floor.sample()
                resume = 0
                hub_lat: list[float] = []
                floor_exact: list[float] = []
                floor_ms: list[float] = []
                lost = 0
                started = time.monotonic()
                for i in range(args.n):
                    latency, resume = press_once(hub, rec, resume)
                    if latency is None:
                        lost += 1
                    else:
                        hub_lat.append(latency)
                    sample = floor.sample()
                    if sample is not None:
                        floor_exact.append(sample[0])
                        floor_ms.append(sample[1])
                    if (i + 1) % 50 == 0:
                        print(f"  {i + 1}/{args.n} presses, {time.monotonic() - started:.0f} s")
                threading.Event().wait(0.2)
        finally:
            if floor is not None:
                floor.close()
            if rec is not None:
                rec.close()
            broker.stop()
    if not hub_lat or not floor_exact:
        print("no samples: see the errors above")
        return 1
    h50, h99 = statistics.median(hub_lat), percentile(hub_lat, 0.99)
    f50, f99 = statistics.median(floor_exact), percentile(floor_exact, 0.99)
    g50, g99 = statistics.median(floor_ms), percentile(floor_ms, 0.99)
    print()
    print(f"{'':34}{'p50':>10}{'p99':>11}{'max':>11}   samples")
    print(f"{'hub: press ts -> subscriber':34}{ms(h50)} {ms(h99)} {ms(max(hub_lat))}   {len(hub_lat)}"
          + (f" ({lost} never arrived)" if lost else ""))
    print(f"{'floor (exact start)':34}{ms(f50)} {ms(f99)} {ms(max(floor_exact))}   {len(floor_exact)}")
    print(f"{'floor (start rounded to ms)':34}{ms(g50)} {ms(g99)} {ms(max(floor_ms))}   {len(floor_ms)}")
    print()
    print(f"ratio hub/floor, like for like (ms-rounded start):   p50 {h50 / g50:.2f}x   p99 {h99 / g99:.2f}x")
    print(f"ratio hub/floor, exact floor start:                  p50 {h50 / f50:.2f}x   p99 {h99 / f99:.2f}x")
    verdict = "meets" if h99 <= 1.5 * g99 else "MISSES"
    print(f"target p99 <= 1.5x floor: {verdict} ({h99 * 1000:.2f} ms vs 1.5 x {g99 * 1000:.2f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
