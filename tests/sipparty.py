"""A real baresip on loopback playing the far end of the hub's calls (the duty desk, a caller): it
plays a WAV into the call, records what it hears (sndfile), and is driven over its ctrl_tcp port by a
plain blocking client, so tests stay synchronous. Skips when baresip is not installed."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drivers.sip.agent import free_loopback_port, free_sip_port
from drivers.sip.control import Response, SipEvent, parse_message
from drivers.sip.netstring import Decoder, encode
from drivers.sip.setup import AgentSettings, find_binary, find_module_dir, write_config_dir

RATE = 8000  # G.711: the far end offers only PCMU/PCMA, so both sides run at 8 kHz


def need_baresip() -> None:
    if find_binary() is None or find_module_dir() is None:
        pytest.skip("baresip not installed (apt-get install baresip-core; scripts/_setup.sh does it)")


def write_tone(path: Path, freqs: tuple[float, ...], seconds: float = 30.0) -> Path:
    """A WAV of `freqs` in turn, 0.25 s each (so cross-correlation has a unique alignment), 8 kHz mono."""
    n = int(RATE * 0.25)
    t = np.arange(n) / RATE
    blocks = [np.sin(2 * np.pi * f * t) for f in freqs]
    signal = np.concatenate([blocks[i % len(blocks)] for i in range(int(seconds / 0.25))])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((signal * 0.5 * 32767).astype("<i2").tobytes())
    return path


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float)


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(spectrum.argmax())])


def best_correlation(received: np.ndarray, sent: np.ndarray) -> float:
    """Peak normalised cross-correlation (1.0 = identical shape) of 1 s from the middle of what was
    heard against the first 3 s of what was played (the played pattern repeats within that)."""
    mid = len(received) // 2
    piece = received[mid - RATE // 2:mid + RATE // 2]
    piece = piece - piece.mean()
    ref = sent[:3 * RATE]
    dots = np.correlate(ref, piece, "valid")
    energy = np.sqrt(np.convolve(ref**2, np.ones(len(piece)), "valid")) * np.linalg.norm(piece)
    return float(np.max(dots / np.maximum(energy, 1e-9)))


class SipParty:
    def __init__(self, root: Path, user: str, play: Path) -> None:
        need_baresip()
        self.port = free_sip_port()
        self.uri = f"sip:{user}@127.0.0.1:{self.port}"
        self.dir = root / f"sip-{user}"
        self.recordings = self.dir / "heard"
        self.settings = AgentSettings(account=self.uri, register=False, listen=f"127.0.0.1:{self.port}",
                                      audio_source=f"aufile,{play}", audio_player="alsa,null",
                                      dump_dir=self.recordings, codecs=("g711",))
        self.events: list[SipEvent] = []
        self.arrivals: list[float] = []  # time.time() each event was read, in step with `events`
        self._responses: dict[str, Response] = {}
        self._cond = threading.Condition()
        self._tokens = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None

    def start(self) -> SipParty:
        ctrl = free_loopback_port()
        module_dir = find_module_dir()
        assert module_dir is not None
        write_config_dir(self.dir, self.settings, ctrl, module_dir)
        binary = find_binary()
        assert binary is not None
        with open(self.dir / "baresip.log", "ab") as log:
            self.proc = subprocess.Popen([binary, "-f", str(self.dir)], stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log)
        deadline = time.time() + 10
        while self.sock is None:
            try:
                self.sock = socket.create_connection(("127.0.0.1", ctrl), 1)
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"baresip did not start: {self.log_tail()}") from None
                time.sleep(0.02)
        self.sock.settimeout(None)
        threading.Thread(target=self._read, name=f"sipparty-{self.port}", daemon=True).start()
        return self

    def _read(self) -> None:
        decoder = Decoder()
        assert self.sock is not None
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            for frame in decoder.feed(chunk):
                message = parse_message(frame)
                with self._cond:
                    if isinstance(message, Response):
                        self._responses[message.token or ""] = message
                    elif isinstance(message, SipEvent):
                        self.events.append(message)
                        self.arrivals.append(time.time())
                    self._cond.notify_all()

    def command(self, name: str, params: str | None = None, timeout: float = 5) -> Response:
        assert self.sock is not None
        with self._cond:
            self._tokens += 1
            token = str(self._tokens)
        body = {"command": name, "token": token, **({"params": params} if params is not None else {})}
        self.sock.sendall(encode(json.dumps(body).encode()))
        with self._cond:
            if not self._cond.wait_for(lambda: token in self._responses, timeout):
                raise TimeoutError(f"baresip did not answer {name}")
            return self._responses.pop(token)

    def on_call(self, call_id: str, name: str) -> Response:
        self.command("callfind", call_id)
        return self.command(name)

    def wait_event(self, event_type: str, timeout: float = 15, after: int = 0, **match: Any) -> SipEvent | None:
        found = self.wait_timed(event_type, timeout, after, **match)
        return found[1] if found else None

    def wait_timed(self, event_type: str, timeout: float = 15, after: int = 0,
                   **match: Any) -> tuple[float, SipEvent] | None:
        """The first matching event from index `after` on, with the time it arrived."""
        def found() -> tuple[float, SipEvent] | None:
            return next(((self.arrivals[i], e) for i, e in enumerate(self.events) if i >= after
                         and e.type == event_type and all(getattr(e, k) == v for k, v in match.items())), None)

        with self._cond:
            self._cond.wait_for(lambda: found() is not None, timeout)
            return found()

    def heard(self) -> np.ndarray:
        """What this party received in its last call (sndfile's decoder-side dump)."""
        dumps = sorted(self.recordings.glob("dump-*-dec.wav"))
        assert dumps, f"no recording in {self.recordings}"
        return read_wav(dumps[-1])

    def log_tail(self) -> str:
        path = self.dir / "baresip.log"
        return path.read_text(errors="replace")[-1500:] if path.exists() else ""

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
