"""Plumbing shared by the core benchmarks: a private mosquitto, a simulated hub, a lean recorder.

The broker and hub process come from tests/support.py (the same ones the end-to-end tests use). The
recorder here is leaner than the tests' Subscriber: it stamps arrival before anything else and only
decodes JSON when asked, so that at tens of thousands of messages per second the subscriber is not the
thing being measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import paho.mqtt.client as mqtt  # noqa: E402
from support import PREFIX, Broker, HubProcess, free_port, write_config  # noqa: E402

__all__ = ["PREFIX", "ROOT", "Broker", "HubProcess", "Recorder", "bench_args", "hub_env", "percentile",
           "scratch", "start_broker", "write_config"]


def bench_args(doc: str | None, n: int, **extra: Any) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--n", type=int, default=n, help=f"sample/message count (default {n})")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, DBs)")
    return parser


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); with 200 samples p99 is the 3rd largest."""
    xs = sorted(values)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


@contextmanager
def scratch(keep: bool = False) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    try:
        yield root
    finally:
        if keep:
            print(f"(scratch kept in {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)


def start_broker(root: Path, persistent: bool = True) -> Broker:
    """mosquitto on a free loopback port, with no cap on the per-client QoS 1 queue: the default of
    1000 would silently drop messages for a subscriber briefly behind a 100,000-message drain.
    `persistent=False`: no session file (the tests' broker rewrites it after every queued message)."""
    port = free_port()
    listener = (f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
                "max_inflight_messages 0\n")
    (root / "broker").mkdir(exist_ok=True)
    return Broker(root / "broker", extra_conf=listener, port=port, persistent=persistent).start()


@contextmanager
def hub_env(root: Path, broker: Broker, hub_id: str, extra: str = "",
            start: bool = True) -> Iterator[HubProcess]:
    """A `hub run --simulate` with its own config and state dir under root; stopped on exit."""
    cfg = write_config(root / hub_id / "hub.toml", broker.port, hub_id=hub_id, extra=extra)
    hub = HubProcess(cfg, env={"PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)})
    try:
        if start:
            hub.start()
        yield hub
    finally:
        hub.stop()


class Recorder:
    """QoS 1 subscriber that stamps each message's arrival (time.time()) first thing in the callback.

    `keep(topic)` decides which messages are stored; every message is counted (with first and last
    arrival) under `classify(topic, payload)`, by default its topic.
    """

    def __init__(self, port: int, topics: list[str], keep: Callable[[str], bool] = lambda t: True,
                 client_id: str | None = None,
                 classify: Callable[[str, bytes], str] = lambda topic, payload: topic) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[float, str, bytes]] = []
        self.counts: dict[str, int] = {}
        self.last_arrival: dict[str, float] = {}
        self.first_arrival: dict[str, float] = {}
        self.changed = threading.Condition(self.lock)
        self._keep = keep
        self._classify = classify
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"bench-rec-{time.monotonic_ns()}",
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(1000)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda c, u, mid, rc, p: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("bench subscriber could not subscribe")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        now = time.time()
        topic = message.topic
        key = self._classify(topic, message.payload)
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.first_arrival.setdefault(key, now)
            self.last_arrival[key] = now
            if self._keep(topic):
                self.messages.append((now, topic, message.payload))
            self.changed.notify_all()

    def count(self, key: str) -> int:
        with self.lock:
            return self.counts.get(key, 0)

    def wait(self, predicate: Callable[[tuple[float, str, Any]], bool], timeout: float = 10,
             start: int = 0) -> tuple[tuple[float, str, Any] | None, int]:
        """First stored message from index `start` on whose (arrival, topic, decoded body) matches;
        returns it and the index to resume from."""
        end = time.monotonic() + timeout
        with self.lock:
            i = start
            while True:
                while i < len(self.messages):
                    arrival, topic, raw = self.messages[i]
                    i += 1
                    try:
                        body: Any = json.loads(raw)
                    except ValueError:
                        body = raw
                    if predicate((arrival, topic, body)):
                        return (arrival, topic, body), i
                left = end - time.monotonic()
                if left <= 0:
                    return None, i
                self.changed.wait(left)

    def wait_event(self, event_type: str, timeout: float = 10, **data: Any) -> tuple[float, dict[str, Any]] | None:
        def match(m: tuple[float, str, Any]) -> bool:
            body = m[2]
            return (isinstance(body, dict) and body.get("type") == event_type
                    and all((body.get("data") or {}).get(k) == v for k, v in data.items()))
        found, _ = self.wait(match, timeout)
        return (found[0], found[2]) if found else None

    def wait_online(self, hub_id: str, timeout: float = 20) -> bool:
        topic = f"{PREFIX}/{hub_id}/status"
        found, _ = self.wait(lambda m: m[1] == topic and isinstance(m[2], dict)
                             and m[2].get("state") == "online", timeout)
        return found is not None

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def connect_publisher(port: int, client_id: str, max_inflight: int = 32) -> mqtt.Client:
    """A plain paho QoS 1 publisher with its network thread running, connected and ready."""
    ready = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(max_inflight)
    client.on_connect = lambda c, u, f, rc, p: ready.set()
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    if not ready.wait(10):
        raise RuntimeError(f"{client_id} could not connect")
    return client
