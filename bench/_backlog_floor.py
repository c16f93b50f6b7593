"""bench/backlog.py's queue and floor: the outbox filled with N events as a long outage leaves it, and
the raw paho QoS 1 publisher of the same payloads (its own process, as the hub is).

Also the call watcher: a QoS 1 subscriber in a process of its own that stamps each call's arrival. In
the bench's own process the stamp would wait for the interpreter lock behind the thread receiving the
drain's telemetry (and, on a loaded machine, behind that thread being descheduled while holding it),
which measures the bench, not the hub; the idle-hub calls it is compared with had no such neighbour.

As a script: python bench/_backlog_floor.py raw PAYLOADS PORT MAX_INFLIGHT TOPIC
             python bench/_backlog_floor.py watch PORT TOPIC     (prints "arrival<TAB>payload" lines)
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paho.mqtt.client as mqtt
from _common import Recorder, connect_publisher

from hub.config.loader import load
from hub.core.events import Event, event_topic
from hub.core.outbox import Outbox
from hub.core.outbox_file import key

RAW_TOPIC = "bench/raw/event/telemetry"  # the floor before the drain; RAW_TOPIC + "/after" after it
BENCH, RAW, RAW_AFTER = "bench", "raw", "raw-after"
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


def raw_publisher(path: Path, port: int, max_inflight: int, topic: str) -> int:
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
            info = pub.publish(topic, body, qos=1)
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


def raw_loop(path: Path, port: int, rec: Recorder, n: int, max_inflight: int, timeout: float,
             label: str = RAW) -> tuple[float, float]:
    """Plain paho QoS 1 publishes of the payloads in `path`; returns messages/s at the subscriber and the
    publisher's CPU seconds (its process, both threads, start-up included)."""
    topic = RAW_TOPIC if label == RAW else f"{RAW_TOPIC}/after"
    t0 = time.time()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.run([sys.executable, __file__, "raw", str(path), str(port), str(max_inflight), topic],
                           timeout=timeout, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    # The publisher is done once the broker has PUBACKed everything; the subscriber may still be seconds
    # behind (on a loaded machine it is the slowest of the three). Wait while it is still receiving, so
    # that the next phase (the hub's drain) does not start with the subscriber busy on these.
    got, quiet_until = rec.count(label), time.monotonic() + 10
    while got < n and time.monotonic() < quiet_until:
        time.sleep(0.05)
        if rec.count(label) > got:
            got, quiet_until = rec.count(label), time.monotonic() + 10
    if got < 2:
        raise RuntimeError(f"raw publisher delivered {got} of {n} (exit {child.returncode})")
    span = rec.last_arrival[label] - rec.first_arrival[label]
    print(f"raw paho (own process, {'before' if label == RAW else 'after'} the drain): {got}/{n} arrived; "
          f"first arrival {rec.first_arrival[label] - t0:.2f} s after launch, {span:.2f} s first to last")
    return ((got - 1) / span if span > 0 else float("nan")), cpu


def cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of a process's threads so far: "main" (the thread with the process's id)
    and "other" (the rest summed); {} once it has gone."""
    out = {"main": 0.0, "other": 0.0}
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            fields = task.joinpath("stat").read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime, stime
            out["main" if task.name == str(pid) else "other"] += ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return {}
    return out


class CallWatch(Recorder):
    """Recorder's `wait` over messages stamped by a subscriber process of its own (see the docstring);
    `client` is another connection's, for publishing (acks)."""

    def __init__(self, port: int, topic: str, client: mqtt.Client) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[float, str, bytes]] = []
        self.changed = threading.Condition(self.lock)
        self.client = client
        self.proc = subprocess.Popen([sys.executable, __file__, "watch", str(port), topic], stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "subscribed":
            raise RuntimeError("the call watcher could not subscribe")
        threading.Thread(target=self._read, name="call-watch", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            arrival, topic, payload = line.rstrip("\n").split("\t", 2)
            with self.lock:
                self.messages.append((float(arrival), topic, payload.encode()))
                self.changed.notify_all()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def watch(port: int, topic: str) -> None:
    def arrived(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
        now = time.time()  # first thing: the arrival
        body = json.dumps(json.loads(message.payload))  # one line
        print(f"{now:.6f}\t{message.topic}\t{body}", flush=True)

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-backlog-calls", protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, 1)
    client.on_subscribe = lambda c, u, mid, rc, p: print("subscribed", flush=True)
    client.on_message = arrived
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_forever()


if __name__ == "__main__":
    if sys.argv[1] == "watch":
        watch(int(sys.argv[2]), sys.argv[3])
    else:
        raise SystemExit(raw_publisher(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
