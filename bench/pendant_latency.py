"""Pendant latency: a BLE pendant press -> call.raised at a subscriber, beside a wired press in the same run.

N rounds against one `hub run --simulate` subprocess and a private mosquitto; each round presses the wired
emergency button (mock GPIO, `sim press --button 17`) and the simulated BTHome pendant (`sim pendant press`:
an AES-CCM encrypted advertisement on the virtual radio, heard through bleak's BleakScanner callback and
decoded by bthome-ble), in alternating order, and acknowledges both calls so the next press raises a new one.

Two figures per path: the control request's send time -> arrival at a QoS 1 subscriber (what a resident's
press costs end to end, the control socket included alike for both), and the event's own `ts` (stamped
when the hub saw the edge or the advertisement) -> arrival. The radio's own air time is not modelled: a
real button repeats its advert for ~100 ms and BlueZ reports the first copy.

Run: python bench/pendant_latency.py [--n 100]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PREFIX, Recorder, bench_args, hub_env, load_line, percentile, scratch, start_broker

HUB = "bench-pendant"
KEY = "231d39c1d7cc1ab1aee224cd096db932"
EXTRA = f"""
[[triggers]]
id = "pendant"
address = "A4:C1:38:00:00:01"
key = "{KEY}"
room = "卧室"
kind = "pendant"
"""


def one(hub: Any, rec: Recorder, resume: int, argv: list[str]) -> tuple[float | None, float | None, int]:
    sent = time.time()
    outcome = hub.sim(*argv, timeout=30)
    call_id = outcome.get("call_id") or outcome.get("event_id")
    if outcome.get("outcome") != "raised" or not call_id:
        raise RuntimeError(f"{argv} did not raise a new call: {outcome}")
    found, resume = rec.wait(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 10, resume)
    total = stamped = None
    if found is not None:
        total = found[0] - sent
        stamped = found[0] - datetime.fromisoformat(found[2]["ts"]).timestamp()
    rec.client.publish(f"{PREFIX}/{HUB}/cmd/ack", json.dumps({"event_id": call_id, "by": "bench"}), qos=1)
    acked, resume = rec.wait(lambda m: isinstance(m[2], dict) and m[2].get("type") == "call.acknowledged"
                             and m[2].get("data", {}).get("call_id") == call_id, 10, resume)
    if acked is None:
        raise RuntimeError(f"call {call_id} was never acknowledged; hub log:\n{hub.log_tail(10)}")
    return total, stamped, resume


def row(name: str, values: list[float]) -> str:
    return (f"{name:34}{statistics.median(values) * 1000:8.2f} ms {percentile(values, 0.99) * 1000:8.2f} ms "
            f"{max(values) * 1000:8.2f} ms   {len(values)}")


def main() -> int:
    args = bench_args(__doc__, 100).parse_args()
    print(f"pendant latency: {args.n} rounds (one wired press, one pendant press each); {load_line()}")
    paths = {"wired": ["press", "--button", "17"], "pendant": ["pendant", "press", "--id", "pendant"]}
    total: dict[str, list[float]] = {k: [] for k in paths}
    stamped: dict[str, list[float]] = {k: [] for k in paths}
    with scratch(args.keep) as root:
        broker = start_broker(root)
        rec = None
        try:
            rec = Recorder(broker.port, [f"{PREFIX}/{HUB}/#"], client_id="bench-pendant-sub")
            with hub_env(root, broker, HUB, extra=EXTRA) as hub:
                if not rec.wait_online(HUB):
                    raise RuntimeError(f"hub never came online:\n{hub.log_tail(10)}")
                resume = 0
                for _ in range(3):  # warm-up: first WAL frames, bthome-ble's first decode, paho code paths
                    for argv in paths.values():
                        _, _, resume = one(hub, rec, resume, argv)
                for i in range(args.n):
                    order = list(paths.items()) if i % 2 == 0 else list(reversed(paths.items()))
                    for name, argv in order:
                        t, s, resume = one(hub, rec, resume, argv)
                        if t is not None and s is not None:
                            total[name].append(t)
                            stamped[name].append(s)
                    if (i + 1) % 25 == 0:
                        print(f"  {i + 1}/{args.n} rounds")
        finally:
            if rec is not None:
                rec.close()
            broker.stop()
    if not all(total.values()):
        print("no samples: see the errors above")
        return 1
    print()
    print(f"{'':34}{'p50':>11}{'p99':>12}{'max':>12}   samples")
    for name in paths:
        print(row(f"{name}: request -> subscriber", total[name]))
    for name in paths:
        print(row(f"{name}: event ts -> subscriber", stamped[name]))
    w99, p99 = percentile(total["wired"], 0.99), percentile(total["pendant"], 0.99)
    print(f"\npendant/wired, request -> subscriber: p50 "
          f"{statistics.median(total['pendant']) / statistics.median(total['wired']):.2f}x   p99 {p99 / w99:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
