"""Gas detector report -> valve `set` and -> alarm.gas at the platform, beside the floor.

A `hub run --simulate` subprocess reads zigbee2mqtt's API on a private mosquitto (the bench plays
zigbee2mqtt: the documented bridge/devices of a HEIMAN HS1CG-M and a Tuya TS0111_valve, their states). Each
round publishes a fresh `{"gas": true}`, times the arrival of `zigbee2mqtt/gas_valve/set` and of `alarm.gas`
at one QoS 1 subscriber (so their order is the broker's), answers as the valve does, clears the gas and
acknowledges the alarm so the next round opens a new one.

The floor: one QoS 1 publish by this process to the same subscriber (what any relay through this broker
pays), interleaved with the rounds.

Run: python bench/gas_valve_latency.py [--n 30]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
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
from zigbee_payloads import BASE, GAS_OFF, GAS_ON, VALVE_OFF, config, devices


def main() -> int:
    args = bench_args(__doc__, 30).parse_args()
    with scratch(args.keep) as root:
        broker = start_broker(root)
        try:
            rec = Recorder(broker.port, ["#"])
            pub = connect_publisher(broker.port, "bench-z2m")
            pub.publish(f"{BASE}/bridge/devices", devices(), qos=1, retain=True).wait_for_publish(5)
            with hub_env(root, broker, "bench-gas", extra=config(broker.port, confirm=10)) as hub:
                if not rec.wait_online("bench-gas"):
                    print(hub.log_tail())
                    return 1
                deadline = time.monotonic() + 20
                while not any(d["friendly_name"] == "kitchen_gas" and d["used"]
                              for d in (hub.status().get("zigbee") or {}).get("devices", [])):
                    if time.monotonic() > deadline:
                        print("bridge/devices never read", hub.log_tail())
                        return 1
                    time.sleep(0.05)
                to_set, to_alarm, floor, index = [], [], [], 0
                for _ in range(args.n):
                    sent = time.time()
                    pub.publish(f"{BASE}/kitchen_gas", json.dumps(GAS_ON), qos=1)
                    valve, index = rec.wait(lambda m: m[1] == f"{BASE}/gas_valve/set", 10, index)
                    alarm, index = rec.wait(lambda m: m[1].startswith(f"{PREFIX}/bench-gas/event/")
                                            and isinstance(m[2], dict) and m[2].get("type") == "alarm.gas", 10,
                                            index)
                    if valve is None or alarm is None:
                        print("round lost", hub.log_tail())
                        return 1
                    to_set.append(valve[0] - sent)
                    to_alarm.append(alarm[0] - sent)
                    pub.publish(f"{BASE}/gas_valve", json.dumps(VALVE_OFF), qos=1)
                    pub.publish(f"{BASE}/kitchen_gas", json.dumps(GAS_OFF), qos=1)
                    pub.publish(f"{PREFIX}/bench-gas/cmd/ack", json.dumps({"event_id": alarm[2]["id"]}), qos=1)
                    with rec.lock:
                        mark = len(rec.messages)
                    t0 = time.time()
                    pub.publish("bench/floor", b"{}", qos=1)
                    got, _ = rec.wait(lambda m: m[1] == "bench/floor", 10, mark)
                    if got is not None:
                        floor.append(got[0] - t0)
                    while any(a["type"] == "alarm.gas" for a in hub.status().get("open_alarms") or []):
                        time.sleep(0.02)  # closed (cleared and acked): the next report opens a new alarm
            for name, xs in (("gas report -> valve set at the broker", to_set),
                             ("gas report -> alarm.gas at the platform", to_alarm),
                             ("floor: one QoS 1 relay through the broker", floor)):
                ms = [x * 1000 for x in xs]
                print(f"{name}: n={len(ms)} p50 {statistics.median(ms):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms")
            print(f"set before alarm in {sum(s < a for s, a in zip(to_set, to_alarm, strict=True))}/{len(to_set)} "
                  f"rounds; {load_line()}")
        finally:
            broker.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
