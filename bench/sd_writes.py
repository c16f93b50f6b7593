"""SD-card bytes the outbox writes: per idle hour, per call, per reading, per typical day, beside a
floor measured in the same run, and a card-life estimate.

The hub's own code does the work (hub.core.store.Store, as hub.core.app drives it: commit, PUBACK ->
delete, upkeep when due; a call opens and closes its open-alarm row in the same transactions as its
events), in this process on the disk under --dir (ext4 here; on a Pi, the SD card). Bytes are the
kernel's count of what this process sent to the storage layer (/proc/self/io write_bytes, 4 KiB pages
dirtied), read before and after each scenario; nothing else in the process writes meanwhile.

The floor is the smallest loop that keeps the same events durable: one table with an INTEGER PRIMARY
KEY, WAL, synchronous=FULL insert+commit per event, the delete after its PUBACK, SQLite's default
checkpointing. It commits every event, telemetry included; the hub sends telemetry from memory.

A typical day, the issue's: 392 events = telemetry.environment every 300 s (288) + telemetry.device
every 900 s (96) + 8 durable ones (2 calls raised and acknowledged, 2 blood-pressure readings, 1
glucose reading, system.started); the retained status every 30 s never touches the card.

`--code DIR` runs the hub side against another checkout's `hub` package (e.g. `git archive main hub`
unpacked in DIR), for a before/after figure from the same machine.

Run: python bench/sd_writes.py [--days 1] [--card-gb 8] [--pe-cycles 3000]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

DAY_S = 86_400
ENV_S, DEVICE_S = 300, 900
DURABLE = [("system.started", {"version": "bench"}), ("call.raised", {"kind": "emergency", "button": 17}),
           ("measurement.blood_pressure", {"systolic": 128, "diastolic": 82, "pulse": 71, "category": "normal"}),
           ("measurement.glucose", {"mmol_per_l": 6.1, "meal": "fasting", "category": "normal"}),
           ("call.raised", {"kind": "health", "button": 27}),
           ("measurement.blood_pressure", {"systolic": 131, "diastolic": 85, "pulse": 68, "category": "normal"})]
ENV = {"period_s": 300, "activity_count": 7, "last_motion": "2026-12-06T08:01:02.345+08:00",
       "temperature_c": 21.4, "humidity_pct": 46.0, "smoke": False, "faults": []}
DEVICE = {"cpu_temp_c": 48.3, "mem_available_mb": 212, "disk_free_mb": 5120, "load_1m": 0.08,
          "uptime_s": 86_000, "wifi_rssi_dbm": -61, "cert_days_left": 300}


def written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


@contextmanager
def measured(out: dict[str, int], name: str) -> Iterator[None]:
    before = written()
    yield
    out[name] = written() - before


class HubSide:
    """The outbox as the hub drives it, from whichever checkout `hub` is imported."""

    def __init__(self, path: Path) -> None:
        self.events = importlib.import_module("hub.core.events")
        self.alarms = importlib.import_module("hub.alarms.store")
        store_mod = importlib.import_module("hub.core.store")
        self.store = store_mod.Store(path, "bench-hub", "eldercare/v1/bench-hub")
        self.store.transact(self.alarms.load)  # the open-alarm table, as the hub creates it at start
        self.by_rows = "rows" in inspect.signature(self.store.remove).parameters
        # A close kept for the acks after it (hub.alarms.store, `at`): the hub passes the closing event's time.
        self.close_at = "at" in inspect.signature(self.alarms.write).parameters

    def event(self, event_type: str, data: dict[str, Any], state: Callable[..., None] | None = None) -> str:
        event = self.events.Event(event_type, dict(data))
        row, saved = self.store.add(event, state)
        assert saved, "the bench's disk refused a commit"
        self.store.remove([row] if self.by_rows else [row.id])  # its PUBACK
        while getattr(self.store, "maintenance_due", lambda: False)():
            if not self.store.maintain():
                break
        return str(event.id)

    def call(self, data: dict[str, Any]) -> None:
        alarm = self.alarms.OpenAlarm(id=str(uuid.uuid4()), type="call.raised", key=f"call:{data['button']}",
                                      since="2026-12-06T08:00:00.000+08:00", opened=time.time(), facts=dict(data))
        self.event("call.raised", data, self.alarms.write(alarm))
        closed = alarm.but(acknowledged=True, by="duty desk")
        self.event("call.acknowledged", {"call_id": alarm.id, "by": "duty desk"},
                   self.alarms.write(closed, time.time()) if self.close_at else self.alarms.write(closed))

    def close(self) -> None:
        self.store.close()


class Floor:
    """The minimal durable loop: what keeping these events through a power cut costs at the least."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS q (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body TEXT NOT NULL)")
        self.seq = 0

    def event(self, event_type: str, data: dict[str, Any], state: object = None) -> str:
        import json
        self.seq += 1
        event_id = str(uuid.uuid4())
        body = json.dumps({"v": 1, "id": event_id, "hub": "bench-hub", "type": event_type,
                           "ts": "2026-12-06T08:00:00.000+08:00", "seq": self.seq, "data": data})
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO q (seq, id, body) VALUES (?, ?, ?)", (self.seq, event_id, body))
        self.db.execute("COMMIT")
        self.db.execute("DELETE FROM q WHERE seq = ?", (self.seq,))
        return event_id

    def call(self, data: dict[str, Any]) -> None:
        self.event("call.raised", data)
        self.event("call.acknowledged", {"call_id": "x", "by": "duty desk"})

    def close(self) -> None:
        self.db.close()


def day(side: HubSide | Floor) -> None:
    """One typical day's events in time order (392: 288 + 96 telemetry, 8 durable)."""
    durable_at = {int(DAY_S * (i + 0.5) / len(DURABLE)) // ENV_S * ENV_S: d for i, d in enumerate(DURABLE)}
    for t in range(0, DAY_S, ENV_S):
        side.event("telemetry.environment", ENV)
        if t % DEVICE_S == 0:
            side.event("telemetry.device", DEVICE)
        if t in durable_at:
            event_type, data = durable_at[t]
            if event_type == "call.raised":
                side.call(data)
            else:
                side.event(event_type, data)


def idle_hour(side: HubSide | Floor) -> None:
    for t in range(0, 3600, ENV_S):
        side.event("telemetry.environment", ENV)
        if t % DEVICE_S == 0:
            side.event("telemetry.device", DEVICE)


def scenarios(make: Callable[[Path], HubSide | Floor], where: Path, days: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, run in (("idle hour", idle_hour), ("call", lambda s: s.call(DURABLE[1][1])),
                      ("reading", lambda s: s.event(*DURABLE[2])), ("day", day)):
        d = Path(tempfile.mkdtemp(dir=where))
        side = make(d / "outbox.db")
        side.event("system.started", {})  # the file exists and has its first pages
        with measured(out, name):
            for _ in range(days if name == "day" else 1):
                run(side)
            side.close()  # closing checkpoints what is left: part of the cost
        shutil.rmtree(d)
    out["day"] //= days
    return out


def kib(n: float) -> str:
    return f"{n / 1024:9.1f} KiB" if n < 10 << 20 else f"{n / (1 << 20):9.2f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="where the databases go (a real disk; default: a "
                        "temporary directory under /var/tmp)")
    parser.add_argument("--days", type=int, default=1, help="typical days replayed (default 1)")
    parser.add_argument("--card-gb", type=float, default=8.0, help="card size for the life estimate (default 8)")
    parser.add_argument("--pe-cycles", type=int, default=3000, help="program/erase cycles per cell (default 3000)")
    parser.add_argument("--code", type=Path, help="import `hub` from this checkout instead (before/after)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve() if args.code else ROOT))
    where = Path(tempfile.mkdtemp(prefix="hub-sd-", dir=args.dir or "/var/tmp"))
    try:
        hub = scenarios(HubSide, where, args.days)
        floor = scenarios(Floor, where, args.days)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    print(f"SD writes by the outbox (write_bytes; hub code from {args.code or ROOT}):")
    print(f"{'':12}{'hub':>14}{'floor':>14}{'ratio':>8}")
    for name in ("idle hour", "call", "reading", "day"):
        ratio = hub[name] / floor[name] if floor[name] else float("nan")
        print(f"{name:12}{kib(hub[name])}{kib(floor[name])}{ratio:7.2f}x")
    verdict = "meets" if hub["day"] <= 2 * floor["day"] else "MISSES"
    print(f"target: a day <= 2x the floor: {verdict}")
    per_day = max(hub["day"], 1)
    years = args.pe_cycles * args.card_gb * (1 << 30) / per_day / 365
    print(f"card life from the outbox's writes alone: {args.pe_cycles} P/E x {args.card_gb:g} GB / "
          f"{kib(per_day).strip()} a day = {years:,.0f} years (no write amplification counted; a card "
          f"rewriting a 4 MiB erase block per 4 KiB page would divide it by up to 1024: "
          f"{years / 1024:,.1f} years)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
