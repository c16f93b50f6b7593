"""Backlog drain: N queued events sent after reconnect, beside raw paho (target >= 0.8x), calls pressed
during the drain (target p99 <= 50 ms from press to subscriber), and the outbox file after the drain.

With the hub stopped, its outbox is filled with N `telemetry.bench` events (the first through
Outbox.add, the rest in one bulk transaction with rows keyed exactly as Outbox.add keys them; the
hub itself sends live telemetry from memory, so this stands for a long outage's queued events).
First, in the same run, a plain paho QoS 1 client (same max_inflight as the hub) publishes the same N
payloads as fast as it can; then the hub is started with the broker up and drains its queue. Both
rates are counted at the same QoS 1 subscriber, first arrival to last. From 10 % of the backlog
arrived until 90 %, the call button is pressed through the control socket, one call at a time (each
acknowledged through cmd/ack before the next); a call's latency is its `ts` (the button's first
edge, millisecond resolution) to its arrival. Last, the size of outbox.db (+ -wal) before, right
after and --settle seconds after the drain (the hub gives space back in bounded steps).

Run: python bench/backlog.py [--n 1000000]      (--n 5000 for a quick try)
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

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

from hub.config.loader import load
from hub.core.events import Event, event_topic
from hub.core.outbox import Outbox
from hub.core.outbox_file import key

HUB = "bench-backlog"
MARK = b'"type":"telemetry.bench"'
RAW_TOPIC = "bench/raw/event/telemetry"
BENCH, RAW = "bench", "raw"
RAW_QUEUE = 1000


def telemetry(i: int) -> Event:
    # Shaped like the hub's telemetry.environment, so payload sizes are realistic.
    return Event("telemetry.bench", {"period_s": 300, "activity_count": i % 17, "last_motion": None,
                                     "temperature_c": 21.5 + (i % 40) / 10, "humidity_pct": 45.0,
                                     "smoke": False, "faults": []})


def fill_outbox(config_path: Path, n: int) -> list[str]:
    """Queue n telemetry events in the stopped hub's outbox; returns their payloads in order."""
    cfg = load(config_path)
    path = cfg.state_dir / "outbox.db"
    with Outbox(path, cfg.hub_id, cfg.topic_base, cfg["outbox"]["max_rows"]) as outbox:
        first = outbox.add(telemetry(0))
    topic = event_topic(cfg.topic_base, "telemetry.bench")
    rows = []
    for seq in range(first.seq + 1, first.seq + n):
        ev = telemetry(seq)
        rows.append((key(int(ev.priority), seq), ev.id, ev.type, topic, ev.payload(cfg.hub_id, seq), time.time()))
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO queue (k, id, type, topic, payload, created) VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.execute("UPDATE meta SET telemetry = telemetry + ?, next_seq = ?", (n - 1, first.seq + n))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    with Outbox(path, cfg.hub_id, cfg.topic_base, cfg["outbox"]["max_rows"]) as outbox:
        queued = len(outbox)
        again = outbox.pending(1)[0]
    if queued != n or again != first:
        raise RuntimeError(f"outbox fill went wrong: {queued} rows (wanted {n})")
    return [first.payload] + [r[4] for r in rows]


def file_mb(path: Path) -> float:
    wal = path.with_name(path.name + "-wal")
    return sum(p.stat().st_size for p in (path, wal) if p.exists()) / 1e6


def raw_publisher(path: Path, port: int, max_inflight: int) -> int:
    """The raw loop itself, run in a process of its own (as the hub is), so that it does not share an
    interpreter lock with the subscriber: publish every line of `path` with QoS 1, then wait for the
    PUBACKs."""
    payloads = path.read_text(encoding="utf-8").splitlines()
    pub = connect_publisher(port, "bench-raw-pub", max_inflight)
    # paho refuses (ERR_QUEUE_SIZE) past 65,535 unacknowledged messages, the packet-id space, so the
    # loop keeps at most RAW_QUEUE handed over; the wire window is still max_inflight, as in the hub.
    room = threading.BoundedSemaphore(RAW_QUEUE)
    pub.on_publish = lambda c, u, mid, rc, p: room.release()
    try:
        for body in payloads:
            room.acquire()
            info = pub.publish(RAW_TOPIC, body, qos=1)
            if info.rc != 0:
                print(f"raw publish refused: rc {info.rc}", file=sys.stderr)
                return 1
        for _ in range(RAW_QUEUE):
            if not room.acquire(timeout=30):
                return 1
    finally:
        pub.loop_stop()
        pub.disconnect()
    return 0


def raw_loop(root: Path, port: int, rec: Recorder, payloads: list[str], max_inflight: int,
             timeout: float) -> float:
    """Plain paho QoS 1 publishes of the same payloads; returns messages/s at the subscriber."""
    path = root / "raw-payloads.txt"
    path.write_text("\n".join(payloads) + "\n", encoding="utf-8")
    n = len(payloads)
    t0 = time.time()
    child = subprocess.run([sys.executable, __file__, "--raw-child", str(path), "--port", str(port),
                            "--inflight", str(max_inflight)], timeout=timeout, check=False)
    end = time.monotonic() + 10
    while rec.count(RAW) < n and time.monotonic() < end:
        time.sleep(0.05)
    got = rec.count(RAW)
    if got < 2:
        raise RuntimeError(f"raw publisher delivered {got} of {n} (exit {child.returncode})")
    span = rec.last_arrival[RAW] - rec.first_arrival[RAW]
    print(f"raw paho (own process): {got}/{n} arrived; first arrival {rec.first_arrival[RAW] - t0:.2f} s "
          f"after launch, {span:.2f} s first to last")
    return (got - 1) / span if span > 0 else float("nan")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def presses_during_drain(hub: Any, calls: Recorder, running: threading.Event, out: dict[str, Any]) -> threading.Thread:
    """Press, wait for call.raised, acknowledge, wait for call.acknowledged; again while `running`."""
    def run() -> None:
        resume = 0
        while running.is_set():
            try:
                outcome = hub.sim("press", "--button", "17", timeout=60)
                call_id = outcome["event_id"]
                found, resume = calls.wait(lambda m, c=call_id: isinstance(m[2], dict) and m[2].get("id") == c,
                                           30, resume)
                if found is None:
                    out.setdefault("missing", []).append(call_id)
                    continue
                out.setdefault("latency", []).append(found[0] - datetime.fromisoformat(found[2]["ts"]).timestamp())
                calls.client.publish(f"{PREFIX}/{HUB}/cmd/ack", json.dumps({"event_id": call_id, "by": "bench"}), qos=1)
                acked, resume = calls.wait(lambda m, c=call_id: isinstance(m[2], dict)
                                           and m[2].get("type") == "call.acknowledged"
                                           and m[2].get("data", {}).get("call_id") == c, 30, resume)
                if acked is None:
                    out["error"] = f"call {call_id} never acknowledged"
                    return
            except Exception as exc:  # reported, not raised: the drain figures still stand
                out["error"] = f"{type(exc).__name__}: {exc}"
                return
    thread = threading.Thread(target=run, name="presses", daemon=True)
    thread.start()
    return thread


def main() -> int:
    parser = bench_args(__doc__, 1_000_000)
    parser.add_argument("--progress", type=float, default=5.0, help="seconds between progress lines")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to watch the file shrink after the drain")
    parser.add_argument("--raw-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--inflight", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_child:
        return raw_publisher(args.raw_child, args.port, args.inflight)
    n = max(10, args.n)
    print(f"backlog drain: {n} queued events; {load_line()}")
    timeout = 60 + n / 500
    sizes: dict[str, float] = {}
    with scratch(args.keep) as root:
        broker = start_broker(root)
        rec = calls = None
        try:
            def classify(topic: str, payload: bytes) -> str:
                if topic == RAW_TOPIC:
                    return RAW
                return BENCH if topic.endswith("/event/telemetry") and MARK in payload else topic

            rec = Recorder(broker.port, [f"{PREFIX}/{HUB}/#", "bench/raw/#"], client_id="bench-backlog-sub",
                           keep=lambda t: False, classify=classify)
            # Calls get a connection of their own: on the shared one the call would queue in the broker
            # behind telemetry the subscriber has not read yet, which measures the subscriber, not the hub.
            calls = Recorder(broker.port, [f"{PREFIX}/{HUB}/event/call"], client_id="bench-backlog-calls")
            extra = f"[outbox]\nmax_rows = {max(200_000, n + 1000)}\n\n[voice]\nenabled = false\n"
            with hub_env(root, broker, HUB, extra=extra, start=False) as hub:
                t = time.monotonic()
                payloads = fill_outbox(hub.config, n)
                db = load(hub.config).state_dir / "outbox.db"
                sizes["filled"] = file_mb(db)
                max_inflight = load(hub.config)["mqtt"]["max_inflight"]
                print(f"outbox filled with {n} rows in {time.monotonic() - t:.1f} s "
                      f"({sum(map(len, payloads)) / n:.0f} bytes per payload, file {sizes['filled']:.0f} MB); "
                      f"max_inflight {max_inflight}")

                raw_rate = raw_loop(root, broker.port, rec, payloads, max_inflight, timeout)
                del payloads

                press: dict[str, Any] = {}
                pressing = threading.Event()
                presser: threading.Thread | None = None
                t_start = time.time()
                hub.start()
                print(f"hub started (control socket up) in {time.time() - t_start:.2f} s; draining")
                next_report = time.monotonic() + args.progress
                last_count, last_t = 0, time.monotonic()
                end = time.monotonic() + timeout
                assert hub.proc is not None
                peak_rss = rss_mb(hub.proc.pid)
                while time.monotonic() < end:
                    peak_rss = max(peak_rss, rss_mb(hub.proc.pid))
                    got = rec.count(BENCH)
                    if presser is None and got >= n // 10:
                        pressing.set()
                        presser = presses_during_drain(hub, calls, pressing, press)
                        print(f"  calls pressed from {got} arrived on")
                    if pressing.is_set() and got >= n * 9 // 10:
                        pressing.clear()
                        print(f"  calls stopped at {got} arrived")
                    if got >= n:
                        break
                    if time.monotonic() >= next_report:
                        now = time.monotonic()
                        st = hub.status()
                        print(f"  {time.time() - t_start:6.1f} s  arrived {got:7d}  "
                              f"{(got - last_count) / (now - last_t):7.0f}/s  hub queue depth "
                              f"{st.get('queue_depth')}  in flight {st.get('in_flight')}  "
                              f"calls {len(press.get('latency', []))}  hub RSS {rss_mb(hub.proc.pid):.0f} MB")
                        last_count, last_t = got, now
                        next_report = now + args.progress
                    time.sleep(0.02)
                got = rec.count(BENCH)
                pressing.clear()
                if presser is not None:
                    presser.join(60)
                sizes["drained"] = file_mb(db)
                settle_end = time.monotonic() + args.settle
                while time.monotonic() < settle_end and file_mb(db) > 1.0:
                    time.sleep(1.0)
                sizes["settled"] = file_mb(db)
                sizes["settle_s"] = args.settle - max(0.0, settle_end - time.monotonic())
                depth = hub.status().get("queue_depth")
        finally:
            for r in (rec, calls):
                if r is not None:
                    r.close()
            broker.stop()
    if got < 2:
        print(f"the hub delivered {got} of {n}: nothing to measure")
        return 1
    span = rec.last_arrival[BENCH] - rec.first_arrival[BENCH]
    hub_rate = (got - 1) / span
    print()
    print(f"hub drain:  {got}/{n} arrived, first arrival {rec.first_arrival[BENCH] - t_start:.2f} s after "
          f"the hub was started, {span:.2f} s first to last; queue depth afterwards {depth}")
    print(f"drain rate  hub {hub_rate:8.0f} events/s   raw paho {raw_rate:8.0f} msg/s   "
          f"ratio {hub_rate / raw_rate:.2f}x (target >= 0.8x: {'meets' if hub_rate >= 0.8 * raw_rate else 'MISSES'})")
    print(f"            including start-up: {got / (rec.last_arrival[BENCH] - t_start):.0f} events/s; "
          f"hub peak RSS during the drain {peak_rss:.0f} MB")
    lat = press.get("latency", [])
    if lat:
        p99 = percentile(lat, 0.99)
        print(f"calls during the drain: {len(lat)} calls, p50 {percentile(lat, 0.5) * 1000:.1f} ms, p99 "
              f"{p99 * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms (target p99 <= 50 ms: "
              f"{'meets' if p99 <= 0.05 else 'MISSES'}); never arrived: {len(press.get('missing', []))}")
    if "error" in press or not lat:
        print(f"calls during the drain: {press.get('error', 'none measured')}")
    print(f"outbox file (+wal): {sizes['filled']:.1f} MB filled, {sizes['drained']:.1f} MB right after the drain, "
          f"{sizes['settled']:.1f} MB {sizes['settle_s']:.0f} s later")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
