"""A Quectel EC25 / SIMCom SIM7600 class modem on a real pseudo-terminal, speaking the AT dialogue as the
modules' AT manuals and 3GPP TS 27.007/27.005 describe, for the hub's tests and `hub run --simulate`.

The hub opens `modem.path` with pyserial like the USB AT port of a real module. Modelled: echo (ATE),
error verbosity (AT+CMEE), SIM state (+CPIN, "+CME ERROR: 10" without a SIM), registration (+CREG,
+CEREG, unsolicited changes with AT+CREG=1), signal (+CSQ), text-mode SMS in GSM or UCS2 (AT+CMGF,
AT+CSCS, AT+CMGS with its "> " prompt and Ctrl-Z, +CMGS reference), new-message indications (AT+CNMI ->
+CMTI), reading and deleting (AT+CMGR, AT+CMGD), and the faults that homes see: no SIM, not registered,
an SMS the network refuses ("+CMS ERROR: 500"), and a module that resets mid-command (silence, then RDY).
Voice calls (ATD, ATH, ATA, +CLCC, RING/+CLIP, DTMF, the IMS setting) are drivers/fakes/modem_calls.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import tty
from dataclasses import dataclass, field

from drivers.fakes.modem_calls import AtFail as _Fail
from drivers.fakes.modem_calls import CallModel, VoiceState
from drivers.modem.at import decode_ucs2, encode_ucs2


@dataclass
class StoredSms:
    sender: str
    body: str
    stamp: str
    read: bool = False


@dataclass
class ModemState:
    sim: str = "READY"  # "READY", "SIM PIN", or "" = no SIM inserted
    registration: int = 1  # TS 27.007 <stat>: 1 home, 2 searching, 3 denied, 5 roaming
    rssi: int = 20  # +CSQ 0..31, 99 unknown
    sms_error: int | None = None  # a +CMS ERROR code for the next sends (e.g. 500 unknown, 331 no network)
    reset_on: str | None = None  # a command prefix that makes the module reset instead of answering
    sent: list[tuple[str, str]] = field(default_factory=list)  # (number, text) as the network took them
    sent_at: list[float] = field(default_factory=list)  # time.time() of each, when the module had the text
    inbox: dict[int, StoredSms] = field(default_factory=dict)
    voice: VoiceState = field(default_factory=VoiceState)


class FakeModem:
    def __init__(self, state: ModemState | None = None, reset_s: float = 0.5) -> None:
        self.state = state or ModemState()
        self.reset_s = reset_s
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._booting = False
        # (position among the answer's lines, bytes), one per command answered: what a module prints by
        # itself ("PB DONE") in the middle of an answer, for the tests
        self.stray: list[tuple[int, bytes]] = []
        self.stray_on: dict[str, tuple[int, bytes]] = {}  # command prefix -> the same, in every answer to it
        self.calls = CallModel(self.state.voice, self._urc, lambda: self.state.registration in (1, 5))
        self._settings_to_defaults()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"fake-modem {self.path}", daemon=True)
        self._thread.start()

    def __enter__(self) -> FakeModem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self.calls.close()
        for fd in (self._slave, self._master):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._thread.join(timeout=2)

    # --- what the world does to the module ----------------------------------------------------------------
    def deliver_sms(self, sender: str, body: str) -> int:
        """A text arrives from the network: stored in "SM", announced with +CMTI if AT+CNMI asked."""
        with self._lock:
            index = max(self.state.inbox, default=0) + 1
            self.state.inbox[index] = StoredSms(sender, body, time.strftime("%y/%m/%d,%H:%M:%S+32"))
        if self._cnmi:
            self._urc(f'+CMTI: "SM",{index}')
        return index

    def set_registration(self, stat: int) -> None:
        self.state.registration = stat
        if self._creg_urc:
            self._urc(f"+CREG: {stat}")

    def ring(self, number: str) -> None:
        """Someone calls the modem's number (RING and +CLIP until the hub answers or they give up)."""
        self.calls.ring_in(number)

    def reset_now(self) -> None:
        """The module restarts on its own (a brown-out on a weak supply): any call is gone, then RDY."""
        self._reset()

    # --- the AT port ------------------------------------------------------------------------------------------
    def _urc(self, line: str) -> None:
        self._send(f"\r\n{line}\r\n")

    def _send(self, text: str) -> None:
        with contextlib.suppress(OSError):
            os.write(self._master, text.encode())

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = os.read(self._master, 1024)
            except OSError:
                return
            buffer += chunk
            while True:
                if self._pending_sms is not None:
                    end = min((i for i in (buffer.find(b"\x1a"), buffer.find(b"\x1b")) if i >= 0), default=-1)
                    if end < 0:
                        break
                    text, cancel, buffer = buffer[:end].decode(errors="replace"), buffer[end] == 0x1B, buffer[end + 1:]
                    self._finish_sms(text, cancel)
                    continue
                end = buffer.find(b"\r")
                if end < 0:
                    break
                line, buffer = buffer[:end].decode(errors="replace").strip(), buffer[end + 1:].lstrip(b"\n")
                if line:
                    self._command(line)

    def _command(self, line: str) -> None:
        if self._booting:
            return  # restarting: the module hears nothing until it has said RDY
        if self._echo:
            self._send(line + "\r")
        upper = line.upper()
        if self.state.reset_on and upper.startswith(self.state.reset_on.upper()):
            self.state.reset_on = None
            self._reset()
            return
        try:
            reply = self._answer(upper, line)
        except _Fail as fail:
            self._reply(upper, [fail.text(self._cmee)])
            return
        if reply is not None:
            self._reply(upper, [*reply, "OK"])

    def _reply(self, command: str, lines: list[str]) -> None:
        """A command's answer, with the next `stray` bytes (if any) and those `stray_on` this command, at
        their place among its lines."""
        parts = [f"\r\n{r}\r\n".encode() for r in lines]
        extra = [self.stray.pop(0)] if self.stray else []
        extra += [stray for prefix, stray in self.stray_on.items() if command.startswith(prefix)]
        for at, data in extra:
            parts.insert(min(at, len(parts)), data)
        self.inject(b"".join(parts))

    def inject(self, data: bytes) -> None:
        """Bytes on the AT port as they come: a module's own lines, noise, a line that never ends."""
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._master, view):]
            except OSError:
                return

    def _reset(self) -> None:
        """The module restarts: no answer, settings back to defaults, then "RDY" (EC25 after power-up)."""
        self.calls.lost()
        self._settings_to_defaults()
        self._booting = True

        def ready() -> None:
            self._booting = False
            self._urc("RDY")

        threading.Timer(self.reset_s, ready).start()

    def _settings_to_defaults(self) -> None:
        self._echo, self._cmee, self._creg_urc = True, 0, 0
        self._text_mode = self._ucs2 = self._cnmi = False
        self._pending_sms: str | None = None  # destination number while collecting the text

    def _answer(self, upper: str, line: str) -> list[str] | None:
        if upper in ("AT", "ATZ"):
            return []
        if m := re.fullmatch(r"ATE([01])", upper):
            self._echo = m.group(1) == "1"
            return []
        if m := re.fullmatch(r"AT\+CMEE=([012])", upper):
            self._cmee = int(m.group(1))
            return []
        if upper == "AT+CPIN?":
            if not self.state.sim:
                raise _Fail("CME", 10, "SIM not inserted")
            return [f"+CPIN: {self.state.sim}"]
        if upper == "AT+CSQ":
            return [f"+CSQ: {self.state.rssi},99"]
        if m := re.fullmatch(r"AT\+C(E?)REG=([012])", upper):
            self._creg_urc = int(m.group(2))
            return []
        if m := re.fullmatch(r"AT\+C(E?)REG\?", upper):
            # A carrier without 2G/3G voice: the circuit-switched side (+CREG) is not registered, LTE is.
            stat = self.state.registration if m.group(1) or self.state.voice.cs_voice else 0
            return [f"+C{m.group(1)}REG: {self._creg_urc},{stat}"]
        if m := re.fullmatch(r"AT\+CMGF=([01])", upper):
            self._text_mode = m.group(1) == "1"
            return []
        if m := re.fullmatch(r'AT\+CSCS="(GSM|UCS2|IRA)"', upper):
            self._ucs2 = m.group(1) == "UCS2"
            return []
        if upper.startswith("AT+CNMI="):
            self._cnmi = upper.split("=", 1)[1].split(",")[1:2] != ["0"]
            return []
        if m := re.fullmatch(r'AT\+CMGS="([^"]*)"', line, re.IGNORECASE):
            return self._start_sms(m.group(1))
        if m := re.fullmatch(r"AT\+CMGR=(\d+)", upper):
            return self._read_sms(int(m.group(1)))
        if m := re.fullmatch(r"AT\+CMGD=(\d+)(?:,(\d))?", upper):
            if m.group(2) in ("1", "2", "3", "4"):
                self.state.inbox.clear()
            else:
                self.state.inbox.pop(int(m.group(1)), None)
            return []
        reply = self.calls.answer(upper)
        if reply is not None:
            return reply
        raise _Fail(None, 0, "")

    def _start_sms(self, number: str) -> list[str] | None:
        if not self._text_mode:
            raise _Fail("CMS", 302, "operation not allowed")  # PDU mode wants a length, not a number
        if not self.state.sim:
            raise _Fail("CMS", 310, "SIM not inserted")
        self._pending_sms = decode_ucs2(number) if self._ucs2 else number
        self._send("\r\n> ")
        return None

    def _finish_sms(self, text: str, cancel: bool) -> None:
        number, self._pending_sms = self._pending_sms, None
        if cancel or number is None:
            self._reply("AT+CMGS", ["OK"])
            return
        if self.state.registration not in (1, 5):
            self._reply("AT+CMGS", [_Fail("CMS", 331, "no network service").text(self._cmee)])
            return
        if self.state.sms_error is not None:
            self._reply("AT+CMGS", [_Fail("CMS", self.state.sms_error, "unknown error").text(self._cmee)])
            return
        body = decode_ucs2(text) if self._ucs2 else text
        self.state.sent_at.append(time.time())  # first: a reader pairing the two lists never lacks a time
        self.state.sent.append((number, body))
        self._reply("AT+CMGS", [f"+CMGS: {len(self.state.sent)}", "OK"])

    def _read_sms(self, index: int) -> list[str]:
        sms = self.state.inbox.get(index)
        if sms is None:
            raise _Fail("CMS", 321, "invalid memory index")
        status = "REC READ" if sms.read else "REC UNREAD"
        sms.read = True
        sender, body = (encode_ucs2(sms.sender), encode_ucs2(sms.body)) if self._ucs2 else (sms.sender, sms.body)
        return [f'+CMGR: "{status}","{sender}","","{sms.stamp}"', body]
