"""The brokers the end-to-end tests can run against, behind one interface.

- `mosquitto` (support.Broker): the reference, C, Eclipse.
- `ejabberd` (EjabberdBroker): ProcessOne's Erlang server, whose mod_mqtt is an independent MQTT 5
  broker (Debian 12: package ejabberd 23.01). It wants a user name and a password on CONNECT; here it
  runs with ejabberd's anonymous login, so any name/password pair is let in (`auth()` hands out one).
  Its sessions live in RAM (they end when the broker stops), retained messages on disc.

Tests marked `any_broker` run once per broker named in $HUB_TEST_BROKERS (default: both); every other
test uses mosquitto. Both classes offer: `name`, `root`, `port`, `start()`, `stop()`, `kill()`, and
`auth(client_id)` -> (user, password) or None.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from support import Broker, PortTaken, free_port, mosquitto_binary, wait_listening

KINDS = ("mosquitto", "ejabberd")


def kinds_wanted() -> list[str]:
    """The brokers named in $HUB_TEST_BROKERS ("mosquitto,ejabberd" when unset)."""
    wanted = [k.strip() for k in os.environ.get("HUB_TEST_BROKERS", ",".join(KINDS)).split(",") if k.strip()]
    unknown = sorted(set(wanted) - set(KINDS))
    if unknown:
        raise ValueError(f"HUB_TEST_BROKERS names {unknown}; known brokers: {', '.join(KINDS)}")
    return wanted


def ejabberd_libs() -> Path | None:
    """The folder holding ejabberd's Erlang applications (ERL_LIBS), or None when not installed."""
    # Debian installs it under /usr/lib/<multiarch triplet>/ejabberd-<version>/
    found = sorted(Path("/usr/lib").glob("*/ejabberd-*/ebin/mod_mqtt.beam"))
    return found[-1].parent.parent.parent if found else None


def missing(kind: str) -> str | None:
    """Why `kind` cannot run here (for a skip), or None."""
    if kind == "mosquitto" and mosquitto_binary() is None:
        return "mosquitto not installed (the README's test command installs it)"
    if kind == "ejabberd" and (ejabberd_libs() is None or shutil.which("erl") is None):
        return "ejabberd not installed (the README's test command installs it: apt-get install ejabberd)"
    return None


class Mosquitto(Broker):
    name = "mosquitto"

    def auth(self, client_id: str) -> tuple[str, str] | None:
        return None


CONFIG = """\
hosts:
  - localhost
loglevel: info
log_rotate_count: 0
listen:
  -
    port: {port}
    ip: "127.0.0.1"
    module: mod_mqtt
auth_method: [anonymous]
anonymous_protocol: login_anon
allow_multiple_connections: true
modules:
  mod_mqtt:
    session_expiry: {session_expiry}
"""


class EjabberdBroker:
    """An ejabberd of our own, MQTT only, on a free loopback port: a plain `erl` process (no epmd, no
    ejabberdctl, not the system service), its Mnesia database and log under `root`."""

    name = "ejabberd"

    def __init__(self, root: Path, port: int | None = None, session_expiry_s: int = 86400) -> None:
        libs = ejabberd_libs()
        erl = shutil.which("erl")
        if libs is None or erl is None:
            raise RuntimeError("ejabberd is not installed (apt-get install ejabberd)")
        self.libs, self.erl = libs, erl
        self.root = root
        self.session_expiry_s = session_expiry_s
        self._use_port(port or free_port())
        self.log = root / "ejabberd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = False  # once it has run, restarts keep the port

    def _use_port(self, port: int) -> None:
        self.port = port
        self.spool = self.root / f"ejabberd-{port}"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.conf = self.root / f"ejabberd-{port}.yml"
        self.conf.write_text(CONFIG.format(port=port, session_expiry=self.session_expiry_s))

    def auth(self, client_id: str) -> tuple[str, str]:
        return client_id, "anonymous-login"

    def start(self) -> EjabberdBroker:
        for attempt in range(5):
            env = {**os.environ, "EJABBERD_CONFIG_PATH": str(self.conf), "EJABBERD_LOG_PATH": str(self.log),
                   "ERL_LIBS": str(self.libs), "ERL_CRASH_DUMP_BYTES": "0"}
            with open(self.root / "ejabberd.out", "ab") as out:
                self.proc = subprocess.Popen(
                    [self.erl, "-noinput", "-noshell", "-mnesia", "dir", f'"{self.spool}"', "-s", "ejabberd"],
                    stdout=out, stderr=out, env=env, start_new_session=True,
                    cwd=self.root)  # a crashing Mnesia writes its MnesiaCore.* dump here, not into the checkout
            try:  # the Erlang VM and Mnesia take a second or two
                wait_listening(self.proc, self.port, 30, "ejabberd", self._tail)
            except PortTaken:  # another worker's server took the port first: a new one (first start only)
                self.kill()
                if self.started or attempt == 4:
                    raise
                self._use_port(free_port())
                continue
            except RuntimeError:
                self.kill()
                raise
            self.started = True
            return self
        raise AssertionError("unreachable")

    def _tail(self) -> str:
        text = ""
        for f in (self.root / "ejabberd.out", self.log):
            if f.exists():
                text += f.read_text(errors="replace")[-800:]
        return text

    def stop(self) -> None:
        """SIGTERM: the Erlang VM shuts down in order (init:stop), as systemd stops the service."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


AMQTT_CONFIG = """\
listeners:
  default:
    type: tcp
    bind: 127.0.0.1:{port}
plugins:
  amqtt.plugins.authentication.AnonymousAuthPlugin:
    allow_anonymous: true
"""


class AmqttBroker:
    """amqtt (PyPI, the [test] extra): a Python broker that speaks MQTT 3.1.1 only; it answers an
    MQTT 5 CONNECT with a 3.1.1 CONNACK 0x01 "unacceptable protocol version". Not an `any_broker`
    choice: the hub cannot work with it, and must say why."""

    name = "amqtt"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._use_port(free_port())
        self.proc: subprocess.Popen[bytes] | None = None

    def _use_port(self, port: int) -> None:
        self.port = port
        self.conf = self.root / f"amqtt-{port}.yaml"
        self.conf.write_text(AMQTT_CONFIG.format(port=port))

    @staticmethod
    def available() -> bool:
        return importlib.util.find_spec("amqtt") is not None

    def start(self) -> AmqttBroker:
        for attempt in range(5):
            with open(self.root / "amqtt.log", "ab") as log:
                self.proc = subprocess.Popen([sys.executable, "-m", "amqtt.scripts.broker_script", "-c",
                                              str(self.conf)], stdout=log, stderr=log, start_new_session=True)
            try:
                wait_listening(self.proc, self.port, 30, "amqtt",
                               lambda: (self.root / "amqtt.log").read_text()[-800:])
            except PortTaken:
                self.kill()
                if attempt == 4:
                    raise
                self._use_port(free_port())
                continue
            return self
        raise AssertionError("unreachable")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


AnyBroker = Mosquitto | EjabberdBroker


def make_broker(kind: str, root: Path) -> AnyBroker:
    if kind == "mosquitto":
        return Mosquitto(root)
    if kind == "ejabberd":
        return EjabberdBroker(root, port=free_port())
    raise ValueError(f"unknown broker {kind!r}; known: {', '.join(KINDS)}")
