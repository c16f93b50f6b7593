"""Test plumbing: a private mosquitto, a `hub run --simulate` subprocess, and an MQTT subscriber."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from ports import PortTaken, free_port, listener_pids, wait_listening  # noqa: F401  (re-exported)

from hub.core.control import ControlError, request, socket_path

PREFIX = "eldercare/v1"
# The simulated board has the fall parts its config names (hub.detect.fall.sim), as a real one: a test
# that drives `hub sim fall` or `hub sim radar` names both, so its hub is the one those tests always had.
SIM_FALL = {"wearable_address": "C8:17:5F:00:00:01", "radar_port": "/dev/ttyAMA0"}
FALL_PARTS = "".join(f'{key} = "{value}"\n' for key, value in SIM_FALL.items())  # keys of a [fall] table
ROOT = Path(__file__).resolve().parent.parent


def wait_until(predicate: Callable[[], Any], timeout: float = 10, what: str | Callable[[], object] = "condition",
               interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy (returned) or `timeout` s pass (AssertionError
    naming `what`; a callable `what` is asked then, for what the test saw: a log tail, a screen). The one
    wait of the test suite: never a fixed sleep followed by an assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(timeout, what))
        time.sleep(interval)


def _timed_out(timeout: float, what: str | Callable[[], object]) -> str:
    return f"timed out after {timeout:g} s waiting for {what if isinstance(what, str) else what()}"


async def wait_until_async(predicate: Callable[[], Any], timeout: float = 10,
                           what: str | Callable[[], object] = "condition", interval: float = 0.01) -> Any:
    """`wait_until` inside an event loop: polls with `asyncio.sleep`, so the hub running on the same loop
    moves on meanwhile. The deadline is on the loop's own clock (a virtual-time loop's, in scenarios)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(_timed_out(timeout, what))
        await asyncio.sleep(interval)


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None)


class Broker:
    """A mosquitto of our own on a free loopback port; can be stopped, restarted and killed."""

    def __init__(self, root: Path, extra_conf: str = "", port: int | None = None, persistent: bool = True) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = binary
        self.root = root
        self.port = port or free_port()
        self.conf = root / f"mosquitto-{self.port}.conf"
        listener = extra_conf or f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
        # As root, mosquitto drops to user 'mosquitto', which cannot read pytest's private tmp dirs.
        as_user = "user root\n" if os.geteuid() == 0 else ""
        # Save sessions on every change, so even a broker killed with SIGKILL comes back knowing the
        # test subscriber's subscription and queues what the hub publishes before it reconnects.
        # `persistent=False` for benchmarks: saving on every change rewrites the whole session file
        # for every message queued to a subscriber, which makes the disk, not MQTT, the broker's limit.
        saving = (f"persistence true\npersistence_location {root}/\nautosave_on_changes true\nautosave_interval 1\n"
                  if persistent else "persistence false\n")
        self.conf.write_text(f"{listener}{as_user}{saving}")
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = False  # once it has run, restarts keep the port (the hubs' configs name it)

    def start(self) -> Broker:
        """Start (or restart, on the same port) mosquitto. On the first start, a port someone else took
        between `free_port()` and the bind is replaced by a new one (conf rewritten) up to 5 times."""
        for attempt in range(5):
            with open(self.root / "broker.log", "ab") as log:
                self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                             stderr=log)
            try:
                wait_listening(self.proc, self.port, 10, "mosquitto",
                               lambda: (self.root / "broker.log").read_text()[-500:])
            except PortTaken:
                self.kill()
                if self.started or attempt == 4:
                    raise
                self._move_to(free_port())
                continue
            self.started = True
            return self
        raise AssertionError("unreachable")

    def _move_to(self, port: int) -> None:
        text = self.conf.read_text().replace(f"listener {self.port} ", f"listener {port} ")
        self.conf.unlink()
        self.port = port
        self.conf = self.root / f"mosquitto-{port}.conf"
        self.conf.write_text(text)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _not_json(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")


class Subscriber:
    """Persistent-session QoS 1 subscriber that records every message (parsed as strict JSON)."""

    def __init__(self, port: int, topic: str, client_id: str | None = None, tls: dict[str, Any] | None = None,
                 auth: tuple[str, str] | None = None) -> None:
        self.messages: list[tuple[float, str, Any]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"test-sub-{port}-{time.monotonic_ns()}",
                                  clean_session=False)
        if tls:
            self.client.tls_set(**tls)
        if auth:
            self.client.username_pw_set(*auth)
        # Subscribed once the broker's SUBACK is in (or it refused the login): a subscriber made while a hub
        # runs and a press right after it would otherwise race the SUBSCRIBE and miss the call (a flake).
        self.subscribed = threading.Event()

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
            if rc.is_failure:
                self.subscribed.set()
            else:
                c.subscribe(topic, qos=1)

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.05, 0.5)
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        self.subscribed.wait(10)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:  # strictly: a NaN/Infinity from the hub is not JSON, so such a message is never an event here
            body: Any = json.loads(message.payload, parse_constant=_not_json)
        except (ValueError, RecursionError):  # tests publish hostile commands on topics this may hear
            body = message.payload
        with self.lock:
            self.messages.append((time.time(), message.topic, body))

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            out = [m[2] for m in self.messages if "/event/" in m[1] and isinstance(m[2], dict)]
        return [e for e in out if event_type is None or e.get("type") == event_type]

    def wait_for(self, predicate: Callable[[tuple[float, str, Any]], bool], timeout: float = 10) -> Any:
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                for m in self.messages:
                    if predicate(m):
                        return m
            time.sleep(0.01)
        return None

    def wait_event(self, event_type: str, timeout: float = 10, **data: Any) -> dict[str, Any] | None:
        def match(m: tuple[float, str, Any]) -> bool:
            body = m[2]
            return (isinstance(body, dict) and body.get("type") == event_type
                    and all((body.get("data") or {}).get(k) == v for k, v in data.items()))
        found = self.wait_for(match, timeout)
        return found[2] if found else None

    def publish(self, topic: str, payload: str | bytes, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos).wait_for_publish(5)

    def close(self) -> None:
        # Disconnect while the network thread still runs, so it sends DISCONNECT and closes the socket
        # (the other way round leaves the socket for the garbage collector: a ResourceWarning).
        self.client.disconnect()
        self.client.loop_stop()


def write_config(path: Path, port: int, hub_id: str = "test-0001", extra: str = "",
                 buttons: dict[int, str] | None = None, mqtt_extra: str = "", hub_extra: str = "") -> Path:
    state = path.parent / "state"
    state.mkdir(parents=True, exist_ok=True)
    buttons = buttons or {17: "emergency", 27: "health", 22: "service", 23: "family"}
    text = (f'[hub]\nid = "{hub_id}"\nstate_dir = "{state}"\n{hub_extra}\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\ntopic_prefix = "{PREFIX}"\n'
            f"reconnect_min_s = 0.1\nreconnect_max_s = 1.0\n{mqtt_extra}\n"
            + "".join(f'[[buttons]]\npin = {p}\nkind = "{k}"\n\n' for p, k in buttons.items()) + extra
            # Which prompts were said is checked here; how they sound and when is tests/test_voice_scenarios.py,
            # so the voice is off (each prompt recorded at once) unless a test turns it on.
            + ("" if "[voice]" in extra else "\n[voice]\nenabled = false\n"))
    path.write_text(text)
    return path


class HubProcess:
    """`hub run --simulate` in a subprocess, driven through the CLI and the control socket."""

    def __init__(self, config: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.config, self.cwd = config, cwd  # cwd: where the hub is started from (systemd: /)
        self.log_path = config.parent / "hub.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        from hub.config.loader import load

        self.state_dir = load(config).state_dir

    def start(self, wait: bool = True) -> HubProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "run", "--simulate", "--config", str(self.config)],
                stdout=log, stderr=log, env=self.env, cwd=self.cwd, start_new_session=True)
        if wait:
            try:
                self.wait_ready()
            except BaseException:  # a hub that never became ready is stopped, not left running after the test
                self.stop()
                raise
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        end = time.time() + timeout
        while time.time() < end:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"hub exited {self.proc.returncode}: {self.log_tail()}")
            try:
                request(socket_path(self.state_dir), {"cmd": "status"}, timeout=2)
                return
            except (ControlError, OSError, ValueError):
                time.sleep(0.05)
        raise RuntimeError(f"hub not ready: {self.log_tail()}")

    def control(self, message: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        return request(socket_path(self.state_dir), message, timeout=timeout)

    def sim(self, verb: str, *args: str, timeout: float = 60) -> dict[str, Any]:
        return self.control({"cmd": "sim", "verb": verb, "argv": list(args)}, timeout=timeout)

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hub", *args, "--config", str(self.config)],
                              capture_output=True, text=True, timeout=timeout, env=self.env)

    def status(self) -> dict[str, Any]:
        return self.control({"cmd": "status"})

    def spoken(self) -> list[dict[str, Any]]:
        return list(self.control({"cmd": "spoken"})["spoken"])

    def spoken_record(self, *args: str) -> list[dict[str, Any]]:
        """What the resident heard, as `hub spoken --json` reads it (hub.speech.record): wall-clock start
        and end, the words heard, interrupted or not, `about`; works with the hub running or stopped."""
        done = self.cli("spoken", "--json", *args)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_tail(self, n: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def wait_online(sub: Subscriber, hub_id: str, timeout: float = 20) -> bool:
    topic = f"{PREFIX}/{hub_id}/status"
    return sub.wait_for(lambda m: m[1] == topic and isinstance(m[2], dict) and m[2].get("state") == "online",
                        timeout) is not None


_nonces = iter(range(1, 1 << 62))


def round_trip(sub: Subscriber, hub_id: str = "test-0001", timeout: float = 15) -> dict[str, Any]:
    """A positive marker for absence checks: a `cmd/ping` with a fresh nonce and its `system.pong`. The
    hub has then taken in every command published before it, and what it published before the pong
    reached `sub` first (one broker, one session), so "no X" asserted now is not a guess after a sleep."""
    nonce = next(_nonces) + os.getpid() * (1 << 32)
    sub.publish(f"{PREFIX}/{hub_id}/cmd/ping", json.dumps({"nonce": nonce}))
    pong = sub.wait_event("system.pong", timeout, request={"nonce": nonce})
    assert pong is not None, f"no pong for ping {nonce} within {timeout:g} s"
    return pong


# ../shared/data beside the checkout (or beside the worktrees' folder, for a checkout in /work/wt/NAME)
SHARED_DATA = next((p for p in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data")
                    if p.is_dir()), ROOT.parent / "shared" / "data")
SISFALL = SHARED_DATA / "sisfall"


def sisfall_subset(dest: Path, names: list[str]) -> Path:
    """Copy a few SisFall trials (`SA01/F01_SA01_R01`, ...) from the shared development data into
    `dest` (pytest's temp dir only, never the repo), keeping the subject folders; skip when absent."""
    if not SISFALL.is_dir():
        pytest.skip(f"SisFall development data not at {SISFALL}")
    for name in names:
        src = SISFALL / f"{name}.txt.gz"
        if not src.exists():
            pytest.skip(f"SisFall development data: {src} missing")
        (dest / name).parent.mkdir(exist_ok=True)
        shutil.copy(src, dest / f"{name}.txt.gz")
    return dest


def online_hub(make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber],
               extra: str = "") -> tuple[HubProcess, Subscriber]:
    """A simulated hub `test-0001` with `extra` config, online, with a subscriber on its topics (made
    first, so nothing the hub publishes at start-up is missed)."""
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub(extra=extra)
    assert wait_online(sub, "test-0001"), hub.log_tail()
    return hub, sub


def spoken_keys(hub: HubProcess) -> list[str]:
    """The catalogue keys the hub has spoken so far, in order (a reading's advice, said with it, after it)."""
    return [key for u in hub.spoken() for key in (u["key"], *(k for k, _about in u.get("with", [])))]


def wait_spoken(hub: HubProcess, key: str, timeout: float = 10, **text: str) -> dict[str, Any] | None:
    """The first utterance of prompt `key` (whose text contains each of `text`'s values), once the
    speaker has dealt with it (rendering and playing take their time); None if none by `timeout`."""
    end = time.time() + timeout
    while time.time() < end:
        for u in hub.spoken():
            keys = (u["key"], *(k for k, _about in u.get("with", [])))  # said in the same utterance
            if key in keys and all(v in u["text"] for v in text.values()):
                return u
        time.sleep(0.05)
    return None


def copy_stock_units(root: Path) -> None:
    """Copy this machine's stock systemd units under `root`, so `systemd-analyze verify --root` can
    resolve what our unit names (network-online.target, ...)."""
    for stock in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if stock.is_dir():
            shutil.copytree(stock, root / "usr/lib/systemd/system", symlinks=True, dirs_exist_ok=True)
            break
