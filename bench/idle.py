"""Idle wake-ups: how often a resting `hub run --simulate` wakes the CPU, by source, beside a floor.

The hub runs with the default Pi config (PIR, MQ-2 smoke through the ADS1115, SHT3x; simulated chips on
the lgpio chip model's lines and the fake I2C bus) under bench/_loopwatch.py, which names the cause of every wake-up
of the asyncio loop (a timer and the task waiting on it, a socket, a hand-over from a thread). Threads
are counted from /proc/<pid>/task/*/schedstat (times each was switched in), so a wake-up on a worker
thread (a sensor read through asyncio.to_thread, the GPIO alert thread, SQLite) shows too. CPU is utime+stime over
the same window. The floor is a bare paho client (network thread, loop_start) with the same keepalive
on the same broker, measured over the same window in the same run. The hub runs with $NOTIFY_SOCKET
and $WATCHDOG_USEC as systemd sets them for the unit (WatchdogSec=30s), so its watchdog pings count.

Targets (issue 23): <= 2 wake-ups per second and <= 0.1 % of one core at rest.
Run: python bench/idle.py [--settle 20] [--window 60] [--extra 'TOML appended to the hub config']
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, HubProcess, Recorder, bench_args, load_line, scratch, start_broker, write_config

HUB = "bench-idle"
TICK = os.sysconf("SC_CLK_TCK")
# Loop wake-ups a Pi with the default config does not have: the simulated BLE radio repeats every
# advert 5 times a second, and the simulated board declares a fall radar and a wearable (the default
# config fits neither), whose component refreshes its status every 10 s.
SIM_ONLY = ("task virtual-ble.adverts", "task fall.status")
FLOOR = """
import sys, time, paho.mqtt.client as mqtt
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="idle-floor", protocol=mqtt.MQTTv5)
c.connect("127.0.0.1", int(sys.argv[1]), keepalive=int(sys.argv[2]))
c.loop_start()
print("up", flush=True)
time.sleep(3600)
"""


WATCHDOG_USEC = 30_000_000  # systemd/eldercare-hub.service: WatchdogSec=30s


def notify_socket(path: Path) -> tuple[socket.socket, list[float]]:
    """A datagram socket standing in for systemd's; returns it and the list of WATCHDOG=1 arrivals."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    pings: list[float] = []

    def listen() -> None:
        while True:
            try:
                data = sock.recv(4096)
            except OSError:
                return
            if b"WATCHDOG=1" in data:
                pings.append(time.monotonic())

    threading.Thread(target=listen, name="notify", daemon=True).start()
    return sock, pings


def switches(pid: int) -> dict[int, int]:
    """tid -> times the thread was switched in (the third schedstat field)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            out[int(task.name)] = int((task / "schedstat").read_text().split()[2])
    return out


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15])


def dump(proc: subprocess.Popen[bytes], out: Path, timeout: float = 10) -> dict[str, object]:
    before = out.stat().st_mtime_ns if out.exists() else 0
    proc.send_signal(signal.SIGUSR1)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if out.exists() and out.stat().st_mtime_ns != before:
            try:
                return dict(json.loads(out.read_text()))
            except ValueError:
                pass  # half written
        time.sleep(0.05)
    raise RuntimeError("the instrumented hub did not answer SIGUSR1")


def ratio(hub: float, floor: float) -> str:
    return f"{hub / floor:.1f}" if floor > 0 else "-"


def main() -> int:
    parser = bench_args(__doc__, 0)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds online before measuring")
    parser.add_argument("--window", type=float, default=60.0, help="measuring window in seconds")
    parser.add_argument("--extra", default="", help="TOML appended to the hub's config")
    args = parser.parse_args()
    print(f"idle: settle {args.settle:.0f} s, window {args.window:.0f} s; {load_line()}")
    with scratch(args.keep) as root:
        broker = start_broker(root)
        rec = floor = None
        cfg = write_config(root / HUB / "hub.toml", broker.port, hub_id=HUB, extra=args.extra)
        out = root / "loopwatch.json"
        notify, pings = notify_socket(root / "notify.sock")
        env = {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
               "HUB_LOOPWATCH_OUT": str(out), "NOTIFY_SOCKET": str(root / "notify.sock"),
               "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        hub = HubProcess(cfg, env=env)
        try:
            rec = Recorder(broker.port, [f"eldercare/v1/{HUB}/status"], client_id="bench-idle-sub")
            with open(hub.log_path, "ab") as log:
                hub.proc = subprocess.Popen(
                    [sys.executable, str(ROOT / "bench" / "_loopwatch.py"), "run", "--simulate", "--config",
                     str(cfg)], stdout=log, stderr=log, env=hub.env, start_new_session=True)
            hub.wait_ready()
            if not rec.wait_online(HUB):
                raise RuntimeError(f"hub never came online:\n{hub.log_tail(10)}")
            rec.close()  # the recorder's own traffic would wake the broker, not the hub; still, quiet
            rec = None
            keepalive = 30  # the hub's default [mqtt] keepalive_s
            floor = subprocess.Popen([sys.executable, "-c", FLOOR, str(broker.port), str(keepalive)],
                                     stdout=subprocess.PIPE)
            assert floor.stdout is not None
            floor.stdout.readline()
            time.sleep(args.settle)
            assert hub.proc is not None
            dump(hub.proc, out)
            h0, f0 = switches(hub.proc.pid), switches(floor.pid)
            c0, fc0, t0 = cpu_ticks(hub.proc.pid), cpu_ticks(floor.pid), time.monotonic()
            time.sleep(args.window)
            h1, f1 = switches(hub.proc.pid), switches(floor.pid)
            c1, fc1, seconds = cpu_ticks(hub.proc.pid), cpu_ticks(floor.pid), time.monotonic() - t0
            loop = dump(hub.proc, out)
            if not hub.alive():
                print(f"the hub exited during the window; its log ends:\n{hub.log_tail(25)}")
                return 1
        finally:
            if rec is not None:
                rec.close()
            if floor is not None:
                floor.kill()
                floor.wait()
            hub.stop()
            broker.stop()
            notify.close()
    threads = {int(k): str(v) for k, v in dict(loop["threads"]).items()}  # type: ignore[call-overload]
    assert hub.proc is not None
    pid = hub.proc.pid
    print(f"\nthreads of the hub (switched in per second over {seconds:.0f} s):")
    hub_total = 0.0
    for tid in sorted(set(h0) | set(h1)):
        n = h1.get(tid, 0) - h0.get(tid, 0)
        hub_total += n
        name = "loop (main)" if tid == pid else threads.get(tid, "(ended or not a Python thread)")
        if n:
            print(f"  {tid:>8} {name:<40}{n / seconds:8.2f}/s")
    wakeups = dict(loop["wakeups"])  # type: ignore[call-overload]
    print(f"\nloop wake-ups by cause (per second, {loop['seconds']:.0f} s; the bench's own SIGUSR1 is one):")
    for cause, n in sorted(wakeups.items(), key=lambda kv: -kv[1]):
        print(f"  {cause:<60}{n / float(loop['seconds']):8.3f}/s")  # type: ignore[arg-type]
    in_window = sum(1 for t in pings if t0 <= t <= t0 + seconds)
    print(f"  (of these, watchdog pings at WatchdogSec={WATCHDOG_USEC // 1_000_000}s: {in_window / seconds:.3f}/s)")
    sim_only = sum(n for cause, n in wakeups.items() if cause.endswith(SIM_ONLY))
    floor_total = sum(f1.get(t, 0) - f0.get(t, 0) for t in set(f1) | set(f0))
    hub_rate, floor_rate = hub_total / seconds, floor_total / seconds
    hub_cpu = (c1 - c0) / TICK / seconds * 100
    floor_cpu = (fc1 - fc0) / TICK / seconds * 100
    print(f"\n{'':<28}{'hub':>10}{'floor':>10}{'ratio':>8}   target")
    print(f"{'wake-ups per second':<28}{hub_rate:10.2f}{floor_rate:10.2f}{ratio(hub_rate, floor_rate):>8}"
          f"   <= 2: {'meets' if hub_rate <= 2 else 'MISSES'}")
    pi_rate = (hub_total - sim_only) / seconds
    print(f"{'  without simulation-only':<28}{pi_rate:10.2f}{floor_rate:10.2f}{ratio(pi_rate, floor_rate):>8}"
          f"   <= 2: {'meets' if pi_rate <= 2 else 'MISSES'}  (less {', '.join(SIM_ONLY)}: "
          f"{sim_only / seconds:.2f}/s)")
    print(f"{'CPU, % of one core':<28}{hub_cpu:10.3f}{floor_cpu:10.3f}"
          f"{ratio(hub_cpu, floor_cpu):>8}   <= 0.1: {'meets' if hub_cpu <= 0.1 else 'MISSES'}")
    print(f"(CPU from clock ticks of 1/{TICK} s: over {seconds:.0f} s one tick is "
          f"{100 / TICK / seconds:.3f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
