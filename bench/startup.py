"""Start-up: exec of `hub run --simulate` → READY=1 on $NOTIFY_SOCKET (as systemd sees it), beside the
bare-import floor (`python -c "import sqlite3, paho.mqtt.client"`, exec to exit) measured in the same
run, interleaved; and beside it the CPU time (user + system) each spent, which a loaded machine
stretches far less than the wall clock (the hub's read from /proc at READY, in clock ticks). Also the
modules loaded at READY (from READY's STATUS line) and, with --importtime,
the `-X importtime` top table (cumulative time per top-level package imported before READY).

Target (issue 23): READY <= 2 x the floor.
Run: python bench/startup.py [--n 7] [--importtime]
"""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, bench_args, load_line, scratch, start_broker, write_config

FLOOR = "import sqlite3, paho.mqtt.client"


TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """utime + stime of a live process, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def one_start(cfg: Path, sock_path: Path, importtime: bool = False) -> tuple[float, str, str, float]:
    """Seconds from exec to READY=1, READY's STATUS text, stderr (importtime lines) up to READY, and the
    CPU seconds the hub had used by then."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        with __import__("contextlib").suppress(FileNotFoundError):
            sock_path.unlink()
        sock.bind(str(sock_path))
        sock.settimeout(60)
        env = {**bytecode_env(), "NOTIFY_SOCKET": str(sock_path),
               "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        err_path = cfg.parent / "stderr.log"
        with open(err_path, "wb") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "hub",
                                     "run", "--simulate", "--config", str(cfg)], stdout=subprocess.DEVNULL,
                                    stderr=err, env=env, start_new_session=True)
            try:
                while True:
                    data = sock.recv(4096).decode()
                    if "READY=1" in data:
                        took = time.perf_counter() - t0
                        cpu = cpu_s(proc.pid)
                        status = next((line[7:] for line in data.split("\n") if line.startswith("STATUS=")), "")
                        break
                stderr = err_path.read_text(errors="replace")
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
    return took, status, stderr, cpu


def bytecode_env() -> dict[str, str]:
    """As on a unit (pip compiles the installed package): cached bytecode, even where this shell says
    PYTHONDONTWRITEBYTECODE (a first, uncounted start writes it)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def floor_once() -> tuple[float, float]:
    """Wall and CPU seconds (its rusage) of the bare-import floor, exec to exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR], check=True, env=bytecode_env())
    took = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_table(stderr: str, top: int = 24) -> list[tuple[str, float, int]]:
    """(package, own import time in ms summed over its modules, modules) from -X importtime lines; the
    hub's own packages by their second level (hub.core, hub.home, ...)."""
    per: dict[str, list[float]] = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if m:
            parts = m.group(3).split(".")
            name = ".".join(parts[:2]) if parts[0] in ("hub", "drivers", "sensors") else parts[0]
            entry = per.setdefault(name, [0.0, 0])
            entry[0] += int(m.group(1)) / 1000
            entry[1] += 1
    return sorted(((k, v[0], int(v[1])) for k, v in per.items()), key=lambda kv: -kv[1])[:top]


def main() -> int:
    parser = bench_args(__doc__, 7)
    parser.add_argument("--importtime", action="store_true", help="print the -X importtime top table")
    args = parser.parse_args()
    print(f"startup: {args.n} starts and floors, interleaved; {load_line()}")
    hub_s: list[float] = []
    floor_s: list[float] = []
    hub_cpu: list[float] = []
    floor_cpu: list[float] = []
    status = ""
    with scratch(args.keep) as root:
        broker = start_broker(root)
        try:
            one_start(write_config(root / "warm" / "hub.toml", broker.port, hub_id="bench-start-w"),
                      root / "notify.sock")  # writes the bytecode caches; not counted
            floor_once()
            for i in range(args.n):
                cfg = write_config(root / f"hub{i}" / "hub.toml", broker.port, hub_id=f"bench-start-{i}")
                took, cpu = floor_once()
                floor_s.append(took)
                floor_cpu.append(cpu)
                took, status, _, cpu = one_start(cfg, root / "notify.sock")
                hub_s.append(took)
                hub_cpu.append(cpu)
            if args.importtime:
                cfg = write_config(root / "hubi" / "hub.toml", broker.port, hub_id="bench-start-i")
                _, _, stderr, _ = one_start(cfg, root / "notify.sock", importtime=True)
        finally:
            broker.stop()
    hub_med, floor_med = statistics.median(hub_s), statistics.median(floor_s)
    print(f"READY's status: {status}")
    print(f"\n{'':<36}{'median':>10}{'min':>10}{'max':>10}")
    print(f"{'exec -> READY=1 (s)':<36}{hub_med:10.3f}{min(hub_s):10.3f}{max(hub_s):10.3f}")
    print(f"{'floor: ' + FLOOR + ' (s)':<36}{floor_med:10.3f}{min(floor_s):10.3f}{max(floor_s):10.3f}")
    print(f"{'CPU to READY=1 (s)':<36}{statistics.median(hub_cpu):10.3f}{min(hub_cpu):10.3f}{max(hub_cpu):10.3f}")
    print(f"{'floor CPU, exec to exit (s)':<36}{statistics.median(floor_cpu):10.3f}{min(floor_cpu):10.3f}"
          f"{max(floor_cpu):10.3f}")
    ratio = hub_med / floor_med
    print(f"\nREADY / floor = {ratio:.1f}x (target <= 2: {'meets' if ratio <= 2 else 'MISSES'}); CPU: "
          f"{statistics.median(hub_cpu) / statistics.median(floor_cpu):.1f}x")
    if args.importtime:
        print("\n-X importtime up to READY: own import time per package (ms), modules")
        for name, ms, count in import_table(stderr):
            print(f"  {name:<28}{ms:8.1f}{count:6d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
