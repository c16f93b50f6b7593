"""Footprint: RSS and idle CPU of `hub run --simulate` (targets: RSS <= 32 MB steady without a wearable,
issue 23, and <= 45 MB, the footprint contract check; <= 1 % of one core).

Starts a private mosquitto and a simulated hub, waits until it is online, lets it idle (--idle, default
60 s), then measures CPU time over a window (--window, default 30 s) and RSS at its end, both summed
over the hub's process tree (/proc). PSS (shared pages split between the processes that map them) is
shown beside RSS, and `hub status --json` tells which components are running, so the figure can be read.
Beside it, measured the same way at the same moment: the floor, a process doing the least a hub does
(asyncio loop, a WAL SQLite database, a paho MQTT 5 client connected to the same broker), and the
resident memory of the hub's largest mappings (libpython, libcrypto, the heap ...) from
/proc/PID/smaps.

Run: python bench/footprint.py [--idle 60] [--window 30]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Recorder, bench_args, hub_env, load_line, scratch, start_broker

HUB = "bench-foot"
TICK = os.sysconf("SC_CLK_TCK")
CORE_KEYS = {"hub", "version", "state", "uptime_s", "queue_depth", "queue", "in_flight", "last_error"}


def children(pid: int) -> list[int]:
    kids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                kids.append(int(p.name))
    return kids


def tree(pid: int) -> list[int]:
    return [pid] + [k for c in children(pid) for k in tree(c)]


def status_kb(pid: int, field: str) -> int:
    """A numeric field of /proc/PID/status (kB for the memory ones)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:  # gone, or not ours to read
        pass
    return 0


def cpu_ticks(pids: list[int]) -> int:
    """utime + stime of each process, plus cutime + cstime: the time of children it has reaped, so a
    helper that comes and goes inside the window is counted too."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])
        except OSError:
            pass
    return total


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


FLOOR = """
import asyncio, sqlite3, sys
import paho.mqtt.client as mqtt
db = sqlite3.connect(sys.argv[2], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS q (id TEXT PRIMARY KEY, body TEXT)")
db.execute("INSERT OR REPLACE INTO q VALUES ('a', 'b')")
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-foot-floor", protocol=mqtt.MQTTv5)
client.connect("127.0.0.1", int(sys.argv[1]), keepalive=30)
client.loop_start()
print("up", flush=True)
asyncio.run(asyncio.sleep(3600))
"""


def start_floor(port: int, root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", FLOOR, str(port), str(root / "floor.db")],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()  # "up": imported, connected, the database open
    return proc


def mappings_kb(pid: int, top: int = 8) -> list[tuple[str, int]]:
    """Resident kB per mapping name (a library's path, [heap], [anon] ...), largest first."""
    per: dict[str, int] = {}
    name = "?"
    try:
        for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
            parts = line.split()
            if parts and not parts[0].endswith(":"):  # a mapping's header line
                name = parts[5].rsplit("/", 1)[-1] if len(parts) > 5 else "[anon]"
            elif parts and parts[0] == "Rss:":
                per[name] = per.get(name, 0) + int(parts[1])
    except OSError:
        pass
    return sorted(per.items(), key=lambda kv: -kv[1])[:top]


def watch(root_pid: int, seconds: float, seen: dict[int, str]) -> None:
    """Sleep `seconds`, noting every process that appears in the tree meanwhile (every 0.25 s)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for pid in tree(root_pid)[1:]:
            if pid not in seen:
                seen[pid] = cmdline(pid)[:100] or comm(pid)
        time.sleep(min(0.25, max(0.0, end - time.monotonic())))


def main() -> int:
    parser = bench_args(__doc__, 0)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds online before measuring")
    parser.add_argument("--window", type=float, default=30.0, help="CPU measuring window in seconds")
    args = parser.parse_args()
    print(f"footprint: idle {args.idle:.0f} s, then a {args.window:.0f} s window; {load_line()}")
    with scratch(args.keep) as root:
        broker = start_broker(root)
        rec = None
        floor = None
        try:
            floor = start_floor(broker.port, root)
            rec = Recorder(broker.port, [f"eldercare/v1/{HUB}/status"], client_id="bench-foot-sub")
            with hub_env(root, broker, HUB) as hub:
                if not rec.wait_online(HUB):
                    raise RuntimeError(f"hub never came online:\n{hub.log_tail(10)}")
                st = hub.cli("status", "--json")
                status = json.loads(st.stdout) if st.returncode == 0 else {}
                time.sleep(args.idle)
                assert hub.proc is not None
                if not hub.alive():
                    print(f"the hub exited ({hub.proc.returncode}) while idle; its log ends:\n{hub.log_tail(25)}")
                    return 1
                pids = tree(hub.proc.pid)
                seen: dict[int, str] = {pid: "" for pid in pids}
                c0, t0 = cpu_ticks(pids), time.monotonic()
                watch(hub.proc.pid, args.window, seen)
                pids = tree(hub.proc.pid)
                cpu = (cpu_ticks(pids) - c0) / TICK / (time.monotonic() - t0) * 100
                floor_rss = status_kb(floor.pid, "VmRSS") / 1024
                maps = mappings_kb(hub.proc.pid)
                per_pid = [(pid, comm(pid), status_kb(pid, "VmRSS"), pss_kb(pid), status_kb(pid, "RssAnon"),
                            status_kb(pid, "Threads")) for pid in pids]
                alive = hub.alive()
                if not alive:
                    print(f"the hub exited ({hub.proc.returncode}) during the window; its log ends:\n"
                          f"{hub.log_tail(25)}")
                    return 1
        finally:
            if floor is not None:
                floor.kill()
                floor.wait()
            if rec is not None:
                rec.close()
            broker.stop()
    rss = sum(p[2] for p in per_pid) / 1024
    pss = sum(p[3] for p in per_pid) / 1024
    parts = sorted(set(status) - CORE_KEYS)
    print(f"components reporting status: {', '.join(parts) if parts else '(hub status failed)'}")
    print(f"hub state {status.get('state')}, queue depth {status.get('queue_depth')}, still running: {alive}")
    transient = {pid: cmd for pid, cmd in seen.items() if cmd and pid not in pids}
    for pid, cmd in transient.items():
        print(f"short-lived child during the window: {pid} {cmd}")
    print(f"{'pid':>8}  {'process':<16}{'RSS MB':>8}{'PSS MB':>8}{'anon MB':>9}{'threads':>9}")
    for pid, name, r, p, anon, threads in per_pid:
        print(f"{pid:>8}  {name:<16}{r / 1024:8.1f}{p / 1024:8.1f}{anon / 1024:9.1f}{threads:9d}")
    print("hub's largest resident mappings (MB): " + ", ".join(f"{n} {kb / 1024:.1f}" for n, kb in maps))
    print()
    print(f"RSS {rss:.1f} MB over {len(per_pid)} process(es); PSS {pss:.1f} MB")
    print(f"floor (asyncio + WAL SQLite + paho MQTT 5, connected, same broker, same moment): {floor_rss:.1f} MB; "
          f"hub / floor = {rss / floor_rss:.2f}x")
    print(f"target <= 32 MB (issue 23): {'meets' if rss <= 32 else 'MISSES'}; "
          f"contract check <= 45 MB: {'meets' if rss <= 45 else 'MISSES'}")
    print(f"CPU {cpu:.2f} % of one core over {args.window:.0f} s after {args.idle:.0f} s idle "
          f"(target <= 1: {'meets' if cpu <= 1 else 'MISSES'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
