"""Backlog drain: N queued telemetry events sent after reconnect, beside raw paho (target >= 0.5x), and a
call raised half-way through the drain (target <= 100 ms from press to subscriber).

With the hub stopped, its outbox is filled with N `telemetry.bench` events (the first through
Outbox.add, the rest in one bulk transaction with rows built exactly as Outbox.add builds them).
First, in the same run, a plain paho QoS 1 client (same max_inflight as the hub) publishes the same N
payloads as fast as it can; then the hub is started with the broker up and drains its queue. Both
rates are counted at the same QoS 1 subscriber, first arrival to last. When about half of the backlog
has arrived, the call button is pressed through the control socket; its latency is the event's `ts`
(the button's first edge, millisecond resolution) to its arrival.

Run: python bench/backlog.py [--n 100000]      (--n 5000 for a quick try)
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PREFIX, Recorder, bench_args, connect_publisher, hub_env, load_line, scratch, start_broker

from hub.config.loader import load
from hub.core.events import Event, event_topic
from hub.core.outbox import Outbox

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
        rows.append((seq, ev.id, int(ev.priority), ev.type, topic, ev.payload(cfg.hub_id, seq), time.time()))
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO outbox (seq, id, priority, type, topic, payload, created) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shape = conn.execute("SELECT typeof(seq), typeof(id), typeof(priority), typeof(type), typeof(topic), "
                             "typeof(payload), typeof(created) FROM outbox WHERE seq IN (?, ?) "
                             "GROUP BY 1, 2, 3, 4, 5, 6, 7", (first.seq, first.seq + 1)).fetchall()
    finally:
        conn.close()
    with Outbox(path, cfg.hub_id, cfg.topic_base, cfg["outbox"]["max_rows"]) as outbox:
        queued = len(outbox)
        again = outbox.pending(1)[0]
    if queued != n or len(shape) != 1 or again != first:
        raise RuntimeError(f"outbox fill went wrong: {queued} rows (wanted {n}), shapes {shape}")
    return [first.payload] + [r[5] for r in rows]


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


def press_in_background(hub: Any, result: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        result["sent"] = time.time()
        try:
            result["outcome"] = hub.sim("press", "--button", "17", timeout=60)
        except Exception as exc:  # reported, not raised: the drain figures still stand
            result["error"] = f"{type(exc).__name__}: {exc}"
    thread = threading.Thread(target=run, name="press", daemon=True)
    thread.start()
    return thread


def main() -> int:
    parser = bench_args(__doc__, 100_000)
    parser.add_argument("--progress", type=float, default=2.0, help="seconds between progress lines")
    parser.add_argument("--raw-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--inflight", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_child:
        return raw_publisher(args.raw_child, args.port, args.inflight)
    n = max(10, args.n)
    print(f"backlog drain: {n} queued telemetry events; {load_line()}")
    timeout = 60 + n / 500
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
            extra = f"[outbox]\nmax_rows = {max(200_000, n + 1000)}\n"
            with hub_env(root, broker, HUB, extra=extra, start=False) as hub:
                t = time.monotonic()
                payloads = fill_outbox(hub.config, n)
                max_inflight = load(hub.config)["mqtt"]["max_inflight"]
                print(f"outbox filled with {n} rows in {time.monotonic() - t:.1f} s "
                      f"({sum(map(len, payloads)) / n:.0f} bytes per payload); max_inflight {max_inflight}")

                raw_rate = raw_loop(root, broker.port, rec, payloads, max_inflight, timeout)
                del payloads

                press: dict[str, Any] = {}
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
                    if presser is None and got >= n // 2:
                        press["at"] = got
                        presser = press_in_background(hub, press)
                        print(f"  pressed the call button at {got} arrived")
                    if got >= n:
                        break
                    if time.monotonic() >= next_report:
                        now = time.monotonic()
                        st = hub.status()
                        print(f"  {time.time() - t_start:6.1f} s  arrived {got:7d}  "
                              f"{(got - last_count) / (now - last_t):7.0f}/s  hub queue depth "
                              f"{st.get('queue_depth')}  in flight {st.get('in_flight')}  "
                              f"hub RSS {rss_mb(hub.proc.pid):.0f} MB")
                        last_count, last_t = got, now
                        next_report = now + args.progress
                    time.sleep(0.02)
                got = rec.count(BENCH)
                if presser is not None:
                    presser.join(30)
                call = calls.wait_event("call.raised", timeout=10)
                time.sleep(1.0)  # the hub deletes delivered rows in batches 0.3 s after their PUBACKs
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
          f"ratio {hub_rate / raw_rate:.2f}x (target >= 0.5x)")
    print(f"            including start-up: {got / (rec.last_arrival[BENCH] - t_start):.0f} events/s; "
          f"hub peak RSS during the drain {peak_rss:.0f} MB")
    if "error" in press:
        print(f"call during drain: press failed: {press['error']}")
    elif call is None:
        print("call during drain: call.raised never arrived")
    else:
        arrival, body = call
        latency = arrival - datetime.fromisoformat(body["ts"]).timestamp()
        verdict = "meets" if latency <= 0.1 else "MISSES"
        print(f"call during drain: press ts -> subscriber {latency * 1000:.1f} ms (target <= 100 ms: {verdict}); "
              f"pressed when {press['at']} of {n} had arrived")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
