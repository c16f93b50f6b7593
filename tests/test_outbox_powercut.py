"""Power cuts through the outbox's own write paths: the counts and next seq kept in the file, the seqs
reserved for telemetry sent from memory, deletes by key, a backlog's incremental vacuum and the
checkpoints. A writer process (this module, run as a script) loops over them on the power-cut
filesystem (tests/powercut.py) and reports each step once it returned; it is killed at random
moments, the card keeps only what was fsynced, and the file must then hold every row reported
committed and not deleted, counts that agree with its rows, and a next seq above every seq used.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from powercut import PowerCutFS, fuse_available

ROOT = Path(__file__).resolve().parents[1]
CUTS = int(os.environ.get("OUTBOX_POWERCUT_RUNS", "12"))

pytestmark = [pytest.mark.skipif(fuse_available() is not None, reason=str(fuse_available())),
              pytest.mark.slow, pytest.mark.timeout(120 + 20 * CUTS)]


def writer(path: Path, seed: int) -> None:
    """The writer: calls, telemetry from memory, deliveries, and now and then a backlog that drains
    and gives its space back. Prints `added SEQ ID`, `seq SEQ`, `removed ID`, `vacuum` as each returns."""
    from hub.core.events import Event
    from hub.core.outbox import Row
    from hub.core.store import Store

    rng = random.Random(seed)
    store = Store(path, "h", "p/h")
    assert store.outbox is not None and store.fault is None, store.fault
    ob = store.outbox
    ts = datetime(2026, 1, 1, tzinfo=UTC)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    queued: list[Row] = []
    print("ready", flush=True)
    while True:
        step = rng.random()
        if step < 0.4:
            row, saved = store.add(Event("call.raised", {"n": rng.randrange(1000)}, ts))
            assert saved
            queued.append(row)
            say(f"added {row.seq} {row.id}")
        elif step < 0.6:
            row, _ = store.add(Event("telemetry.environment", {"n": 1}, ts))
            say(f"seq {row.seq}")
        elif step < 0.8 and queued:
            done = [queued.pop(0) for _ in range(min(len(queued), rng.randint(1, 3)))]
            store.remove(done)
            for r in done:
                say(f"removed {r.id}")
        else:  # a backlog: queued in batches, delivered, space given back step by step
            backlog = [Row(ob.take_seq(), f"b{rng.random()}", 1, "measurement.x", "p/h/event/measurement",
                           "x" * 900) for _ in range(2400)]
            for i in range(0, len(backlog), 300):
                ob.add_rows(backlog[i:i + 300])
            say(f"added-backlog {max(r.seq for r in backlog)}")
            for i in range(0, len(backlog), 256):
                store.remove(backlog[i:i + 256])
            say("upkeep")  # a cut from here on lands in a vacuum step or a checkpoint
            while store.maintenance_due() and store.maintain():
                say("vacuum")
            say("drained")


def check(path: Path, added: dict[str, int], removed: set[str], top_seq: int) -> int:
    """The file after a cut; returns the next seq it would give."""
    with contextlib.closing(sqlite3.connect(path)) as db:  # closed before the next writer runs
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = dict(db.execute("SELECT id, k & 281474976710655 FROM queue").fetchall())
        by_priority = dict(db.execute("SELECT k >> 48, count(*) FROM queue GROUP BY 1").fetchall())
        meta = db.execute("SELECT next_seq, urgent, measurement, telemetry FROM meta").fetchone()
    missing = {i for i in added if i not in removed} - set(rows)
    assert not missing, f"committed rows lost: {sorted(missing)[:5]}"
    assert list(meta[1:]) == [by_priority.get(p, 0) for p in range(3)], (meta, by_priority)
    from hub.core.outbox import Outbox
    with Outbox(path, "h", "p/h") as ob:
        assert ob.depth() == {"urgent": meta[1], "measurement": meta[2], "telemetry": meta[3]}
        nxt = ob.next_seq
    assert nxt > top_seq, f"seq {top_seq} was used, yet the file would give {nxt} again"
    return nxt


def test_the_outbox_file_survives_power_cuts_in_every_write_path(tmp_path: Path) -> None:
    seed = int(os.environ.get("POWERCUT_SEED", str(random.SystemRandom().randrange(1 << 30))))
    rng = random.Random(seed)
    added: dict[str, int] = {}
    removed: set[str] = set()
    top_seq = 0
    phases: dict[str, int] = {}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    with PowerCutFS(tmp_path / "card") as fs:
        db = fs.path / "outbox.db"
        for cut in range(CUTS):
            out = tmp_path / f"writer{cut}.out"
            with open(out, "w") as sink:
                proc = subprocess.Popen([sys.executable, __file__, str(db), str(rng.randrange(1 << 30))],
                                        stdout=sink, stderr=subprocess.STDOUT, env=env)
                end = time.monotonic() + 30
                while "ready" not in out.read_text() and proc.poll() is None and time.monotonic() < end:
                    time.sleep(0.02)
                assert proc.poll() is None, out.read_text()[-2000:]
                time.sleep(rng.uniform(0.3, 2.5))  # the cut's moment: random, not a wait for a result
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            fs.cut()
            lines = out.read_text().splitlines()
            assert "Traceback" not in out.read_text(), out.read_text()[-2000:]
            for line in lines:
                word, *rest = line.split()
                if word == "added":
                    added[rest[1]] = int(rest[0])
                    top_seq = max(top_seq, int(rest[0]))
                elif word in ("seq", "added-backlog"):
                    top_seq = max(top_seq, int(rest[0]))
                elif word == "removed":
                    removed.add(rest[0])
            last = next((ln.split()[0] for ln in reversed(lines) if ln.strip()), "ready")
            phases[last] = phases.get(last, 0) + 1
            top_seq = max(top_seq, check(db, added, removed, top_seq) - 1)
    print(f"\noutbox power cuts: {CUTS} (seed {seed}); calls committed {len(added)}, delivered {len(removed)}; "
          f"last step before each cut: {phases}")
    assert added, "nothing was committed: the test did not exercise anything"


if __name__ == "__main__":
    writer(Path(sys.argv[1]), int(sys.argv[2]))
