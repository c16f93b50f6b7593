"""Runs baresip as a child process and keeps it running: generated config dir, ctrl_tcp on a loopback
port picked free at each start, output drained into the log, restart with exponential backoff when it
exits, registration state tracked (and written for `hub selftest`).

`run()` is the supervisor (one long-lived task); `dial`, `accept`, `hangup` may be called from any
task on the same loop while `ready` is set. `close()` stops baresip and ends `run()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import random
import re
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from drivers.sip import registration as reg
from drivers.sip.control import Control, ControlLost, Response, SipEvent
from drivers.sip.listen import resolve_listen
from drivers.sip.setup import AgentSettings, find_binary, find_module_dir, missing_modules, write_config_dir
from drivers.sip.trace import OVERLONG, Source, TraceReader

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0
_NOISY = re.compile(r"error|fail|could not|cannot|unable|warning", re.IGNORECASE)
# baresip 1.0.0's words for a failed REGISTER: "reg: <aor>: Register: Connection refused" (no answer)
# or "reg: <aor>: 403 Forbidden (server)" (the server said no)
_REGISTER_ERROR = re.compile(r"^reg: \S+: (?:Register: )?(.+)$")


class Unavailable(RuntimeError):
    """baresip cannot run here at all (not installed, modules missing): retrying will not help."""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the hub dies, even by SIGKILL, so an orphaned baresip
    never keeps the SIP port from the next hub's baresip (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_sip_port(candidate: Callable[[], int] | None = None) -> int:
    """A loopback port P for `sip_listen` with P free for UDP and TCP and P+1 free for TCP: baresip puts
    its SIP/TLS transport on P+1 and refuses to start when that one is taken. P is the kernel's choice, or
    `candidate()`'s (a test worker's own block of ports)."""
    while True:
        with contextlib.ExitStack() as held:
            tcp = held.enter_context(socket.socket())
            try:
                tcp.bind(("127.0.0.1", candidate() if candidate is not None else 0))
            except OSError:
                continue
            port = int(tcp.getsockname()[1])
            try:
                udp = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                udp.bind(("127.0.0.1", port))
                tls = held.enter_context(socket.socket())
                tls.bind(("127.0.0.1", port + 1))
            except OSError:
                continue  # P+1 (or P for UDP) is someone else's: take another P
            return port


def check_installed(settings: AgentSettings) -> tuple[str, Path]:
    """(binary, module dir), or Unavailable saying what is missing and how to get it."""
    binary = find_binary(settings.binary)
    module_dir = find_module_dir()
    if binary is None or module_dir is None:
        raise Unavailable("baresip not installed")
    missing = missing_modules(settings, module_dir)
    if missing:
        raise Unavailable(f"baresip modules missing: {', '.join(missing)}")
    return binary, module_dir


class BaresipAgent:
    def __init__(self, settings: AgentSettings, config_dir: Path, on_event: Callable[[SipEvent], None],
                 on_state: Callable[[str], None] = lambda s: None, on_lost: Callable[[], None] = lambda: None,
                 backoff_min_s: float = 1.0, backoff_max_s: float = 60.0) -> None:
        self.settings = settings
        self.config_dir = config_dir
        self._on_event = on_event
        self._on_state = on_state  # a one-line status ("registered as sip:...", "restarting (exit code 98: ...)")
        self._on_lost = on_lost  # baresip went away: every call it had is gone
        self._backoff = (backoff_min_s, backoff_max_s)
        self.ready = asyncio.Event()
        self.registration = reg.Registration(reg.REGISTERING, account=settings.account)
        self.starts = 0
        self._control: Control | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._closing = False
        self._closed = asyncio.Event()
        self._tail: deque[str] = deque(maxlen=12)
        self._register_error = ""
        self._problem = ""  # baresip's last complaint, for the status line when it stops
        self.trace = TraceReader()  # where each INVITE came from (baresip -s)
        self.listening = ""  # the address:port baresip was last started on

    @property
    def pid(self) -> int:
        return self._proc.pid if self._proc is not None else 0

    async def run(self) -> None:
        """Supervise until close(). Raises Unavailable at once if baresip is not installed."""
        binary, module_dir = check_installed(self.settings)
        delay = self._backoff[0]
        while not self._closing:
            started = time.monotonic()
            why = await self._run_once(binary, module_dir)
            if self._closing:
                return
            if time.monotonic() - started > 60:
                delay = self._backoff[0]  # it ran a good while: a fresh failure, not a crash loop
            wait = random.uniform(delay / 2, delay)
            log.warning("baresip stopped (%s); restarting in %.1f s. Last output: %s", why, wait,
                        " | ".join(self._tail) or "(none)")
            self._on_state(f"restarting ({why})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), wait)
            delay = min(delay * 2, self._backoff[1])

    async def _run_once(self, binary: str, module_dir: Path) -> str:
        port = free_loopback_port()
        # the one address to listen on ("auto": the one that routes to the registrar); resolving may block
        try:
            listen = await asyncio.get_running_loop().run_in_executor(None, resolve_listen, self.settings)
        except OSError as exc:  # the SIP server's name does not resolve yet, the interface has no address
            return f"no address to listen on for {self.settings.listen}: {exc}"
        self.listening = listen
        write_config_dir(self.config_dir, replace(self.settings, listen=listen), port, module_dir)
        self._tail.clear()
        self._problem = ""
        self._proc = proc = await asyncio.create_subprocess_exec(
            binary, "-s", "-f", str(self.config_dir), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, preexec_fn=_die_with_parent)
        self.starts += 1
        drain = asyncio.create_task(self._drain(proc), name="sip.baresip_output")
        serve: asyncio.Task[None] | None = None
        waiter: asyncio.Task[int] | None = None
        try:
            control = await self._connect(proc, port)
            if control is None:
                return await self._exit_why(proc, drain) if proc.returncode is not None else "no control port"
            serve = asyncio.create_task(control.serve(), name="sip.baresip_control")
            self._control = control
            self.ready.set()
            await self._refresh_registration()
            waiter = asyncio.create_task(proc.wait(), name="sip.baresip_wait")
            await asyncio.wait({serve, waiter}, return_when=asyncio.FIRST_COMPLETED)
            return await self._exit_why(proc, drain)
        finally:
            self.ready.clear()
            self._control = None
            await self._stop(proc)
            for task in (serve, waiter, drain):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            self._on_lost()

    async def _exit_why(self, proc: asyncio.subprocess.Process, drain: asyncio.Task[None]) -> str:
        if proc.returncode is None:
            return "control connection lost"
        with contextlib.suppress(TimeoutError):  # its last words may still be in the pipe
            await asyncio.wait_for(asyncio.shield(drain), 1.0)
        return f"exit code {proc.returncode}" + (f": {self._problem}" if self._problem else "")

    async def _connect(self, proc: asyncio.subprocess.Process, port: int) -> Control | None:
        """baresip listens once its modules are loaded (a few ms to a second on a Pi Zero)."""
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while time.monotonic() < deadline and proc.returncode is None:
            control = Control(self._event)
            try:
                await control.connect("127.0.0.1", port)
                return control
            except OSError:
                await asyncio.sleep(0.02)
        return None

    async def _drain(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            try:
                raw = await proc.stdout.readline()
            except ValueError:  # a line over the reader's limit (a huge SIP body): skipped, and distrusted
                raw = OVERLONG
            if not raw:
                return
            if self.trace.feed(raw):
                continue  # SIP messages are not logged: REGISTER carries the digest response
            for line in raw.decode("utf-8", "replace").replace("\r", "\n").splitlines():
                line = reg.strip_ansi(line).strip()
                if not line:
                    continue
                self._tail.append(line)
                noisy = _NOISY.search(line) is not None
                if noisy:
                    self._problem = line
                log.log(logging.WARNING if noisy else logging.DEBUG, "baresip: %s", line)
                failed = _REGISTER_ERROR.match(line)
                if failed:  # the REGISTER_FAIL event may have gone out before we connected: keep its words
                    self._register_error = failed.group(1).strip()
                    if self.registration.state == reg.FAILED:
                        self._set_registration(reg.FAILED, self._register_error)

    def _event(self, event: SipEvent) -> None:
        state = reg.from_event(event.type)
        if state is not None:
            self._set_registration(state, event.param)
        self._on_event(event)

    async def _refresh_registration(self) -> None:
        """Registration starts before we connect, so its first events are missed: ask once."""
        try:
            answer = await self.command("reginfo")
        except (ControlLost, TimeoutError):
            return
        if self.registration.state == reg.REGISTERING or not self.settings.register:
            state = reg.from_reginfo(answer.data, self.settings.register)
            self._set_registration(state, self._register_error if state == reg.FAILED else "")

    def _set_registration(self, state: str, detail: str) -> None:
        if not self.settings.register:
            state, detail = reg.NOT_USED, ""
        old = self.registration
        if (old.state, old.detail, old.pid) == (state, detail, self.pid):
            return  # a refresh (every register_interval_s): nothing to write, nothing new to say
        self.registration = reg.Registration(state, detail, self.settings.account, self.pid, time.time())
        try:
            reg.write_state(self.config_dir, self.registration)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.config_dir / reg.STATE_FILE, exc)
        self._on_state(self.registration.describe())

    async def command(self, name: str, params: str | None = None) -> Response:
        control = self._control
        if control is None:
            raise ControlLost("baresip is not running")
        return await control.command(name, params)

    def invite_sources(self, call_id: str) -> set[Source]:
        """Where the INVITEs with this Call-ID came from, as baresip's SIP trace says (empty: not seen)."""
        return self.trace.sources(call_id)

    async def dial(self, uri: str) -> Response:
        return await self.command("dial", uri)

    async def accept(self, call_id: str) -> Response:
        return await self._on_call(call_id, "accept")

    async def hangup(self, call_id: str) -> Response:
        return await self._on_call(call_id, "hangup")

    async def hangup_current(self) -> Response:
        """Hang up the current call: an outgoing call still waiting for its first answer has no id."""
        return await self.command("hangup")

    async def _on_call(self, call_id: str, name: str) -> Response:
        control = self._control
        if control is None:
            raise ControlLost("baresip is not running")
        return await control.on_call(call_id, name)

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()  # baresip hangs up its calls and unregisters on SIGTERM
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()

    async def close(self) -> None:
        self._closing = True
        self._closed.set()
        self.ready.clear()
        control, self._control = self._control, None
        if control is not None:
            await control.close()
        if self._proc is not None:
            await self._stop(self._proc)
