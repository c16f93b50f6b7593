"""Voice calls of the modem model (drivers/fakes/modem.py), as the Quectel EC25 and SIMCom SIM7600 AT
manuals and TS 27.007 describe them.

`ATD<number>;` answers OK at once (AT+COLP=0, the modules' default) and the call goes on by itself:
dialing, alerting, then the far end answers after its `answer_after_s`, is busy ("BUSY"), never
answers (the network gives up: "NO ANSWER"), or hangs up ("NO CARRIER"). AT+CLCC lists the call and
its state; ATH / AT+CHUP hang up; ATA takes an incoming call (announced by RING and +CLIP every 3 s).
A far end's keys are reported once DTMF detection is on: Quectel `AT+QTONEDET=1` -> `+QTONEDET: 49`
(the key's ASCII code), SIMCom `AT+DDET=1` -> `+RXDTMF: 1`; SIMCom also says "VOICE CALL: BEGIN" and
"VOICE CALL: END: <mmss>". Voice needs a circuit-switched network (2G/3G, `cs_voice`) or VoLTE: the
IMS setting `AT+QCFG="ims"` (Quectel; 0 = the carrier profile decides, 1 on, 2 off) or the standard
`AT+CIREG?` (SIMCom); with neither, ATD answers a bare ERROR, as an LTE-only carrier does.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RING_EVERY_S = 3.0
RINGS_BEFORE_GIVING_UP = 10


class AtFail(Exception):
    def __init__(self, kind: str | None, code: int, words: str) -> None:
        super().__init__(words)
        self.kind, self.code, self.words = kind, code, words

    def text(self, cmee: int) -> str:
        if self.kind == "V.250":  # a result code of its own ("NO CARRIER"), whatever AT+CMEE says
            return self.words
        if self.kind == "CMS":  # TS 27.005: SMS errors are always reported with their code
            return f"+CMS ERROR: {self.code}"
        if self.kind is None or cmee == 0:
            return "ERROR"
        return f"+{self.kind} ERROR: {self.code if cmee == 1 else self.words}"


@dataclass
class Callee:
    """How a far end behaves when the modem calls it."""

    answer_after_s: float | None = 2.0  # None: it rings until the network gives up (no_answer_s)
    busy: bool = False
    press: str = ""  # keys pressed once answered, one every press_every_s after press_after_s
    press_after_s: float = 1.0
    press_every_s: float = 0.3
    hang_up_after_s: float | None = None  # after answering; None: stays until someone hangs up


@dataclass
class VoiceState:
    vendor: str = "quectel"  # "quectel" (EC25) | "simcom" (SIM7600)
    cs_voice: bool = True  # the carrier still has 2G/3G voice; False: only VoLTE carries calls
    ims_conf: int = 0  # AT+QCFG="ims": 0 the carrier profile (MBN) decides, 1 on, 2 off
    mbn_volte: bool = True  # what the carrier profile decides
    no_answer_s: float = 60.0  # the network gives up on an unanswered call
    callees: dict[str, Callee] = field(default_factory=dict)  # by number as dialled; others: default_callee
    default_callee: Callee = field(default_factory=Callee)
    history: list[dict[str, Any]] = field(default_factory=list)  # every call that ended, oldest first

    @property
    def volte(self) -> bool:
        return self.ims_conf == 1 or (self.ims_conf == 0 and self.mbn_volte)


@dataclass
class _Call:
    number: str
    outgoing: bool
    state: str  # "dialing" | "alerting" | "active" | "incoming"
    generation: int
    answered_at: float | None = None
    keys: str = ""  # keys the far end pressed
    dialled_at: float = field(default_factory=time.time)  # wall clock: when the module took ATD / RING began


_STAT = {"active": 0, "dialing": 2, "alerting": 3, "incoming": 4}


class CallModel:
    def __init__(self, voice: VoiceState, urc: Callable[[str], None], can_call: Callable[[], bool]) -> None:
        self.voice = voice
        self._urc, self._can_call = urc, can_call
        self._lock = threading.RLock()
        self._call: _Call | None = None
        self._generation = 0
        self._dtmf = False
        self._timers: list[threading.Timer] = []

    # --- the AT commands ---------------------------------------------------------------------------------
    def answer(self, upper: str) -> list[str] | None:
        """The reply to a call command; None when `upper` is not one (AtFail for an error)."""
        quectel = self.voice.vendor == "quectel"
        if m := re.fullmatch(r"ATD([+0-9*#]+);", upper):
            return self._dial(m.group(1))
        if upper in ("ATH", "ATH0", "AT+CHUP"):
            self._end(None, "local")
            return []
        if upper == "ATA":
            return self._take()
        if upper == "AT+CLCC":
            with self._lock:
                call = self._call
                return [] if call is None else [f'+CLCC: 1,{0 if call.outgoing else 1},{_STAT[call.state]},0,0,'
                                                f'"{call.number}",{145 if call.number.startswith("+") else 129}']
        if (m := re.fullmatch(r"AT\+QTONEDET=([01])", upper)) and quectel:
            self._dtmf = m.group(1) == "1"
            return []
        if (m := re.fullmatch(r"AT\+DDET=([01])(?:,\d+)*", upper)) and not quectel:
            self._dtmf = m.group(1) == "1"
            return []
        if (m := re.fullmatch(r'AT\+QCFG="IMS"(?:,([012]))?', upper)) and quectel:
            if m.group(1) is None:
                return [f'+QCFG: "ims",{self.voice.ims_conf},{int(self.voice.volte)}']
            self.voice.ims_conf = int(m.group(1))
            return []
        if upper == "AT+CIREG?" and not quectel:  # absent from many EC25 builds: the fallthrough ERROR
            return [f"+CIREG: 0,{int(self.voice.volte)}"]
        if upper == "AT+CGMI":
            return ["Quectel" if quectel else "SIMCOM INCORPORATED"]
        if upper in ("ATI", "AT+GMM", "AT+CGMM"):
            return ["EC25" if quectel else "SIMCOM_SIM7600G-H"]
        return None

    def _dial(self, number: str) -> list[str]:
        with self._lock:
            if self._call is not None:
                raise AtFail("CME", 3, "operation not allowed")
            if not (self.voice.cs_voice or self.voice.volte):
                raise AtFail(None, 0, "")  # LTE only and IMS off: refused at once, nothing reaches the network
            self._generation += 1
            gen = self._generation
            self._call = _Call(number, True, "dialing", gen)
        if not self._can_call():
            self._later(0.2, gen, lambda: self._end(gen, "no_carrier"))
            return []
        callee = self.voice.callees.get(number, self.voice.default_callee)
        self._later(0.3, gen, lambda: self._set_state(gen, "alerting"))
        if callee.busy:
            self._later(1.0, gen, lambda: self._end(gen, "busy"))
        elif callee.answer_after_s is None:
            self._later(self.voice.no_answer_s, gen, lambda: self._end(gen, "no_answer"))
        else:
            self._later(max(0.4, callee.answer_after_s), gen, lambda: self._answered(gen, callee))
        return []

    def _take(self) -> list[str]:
        with self._lock:
            call = self._call
            if call is None or call.state != "incoming":
                raise AtFail("V.250", 0, "NO CARRIER")  # ATA with nothing ringing
            self._answered(call.generation, None)
        return []

    # --- what the far end and the network do ---------------------------------------------------------------
    def press(self, keys: str) -> None:
        """The far end presses `keys` on the call that is up (reported only while detection is on)."""
        with self._lock:
            call = self._call
            if call is None or call.state != "active":
                raise RuntimeError("no call is up")
            if not keys or any(k not in "0123456789*#" for k in keys):
                raise RuntimeError(f"not phone keys: {keys!r}")
            call.keys += keys
            if not self._dtmf:
                return
            for key in keys:
                self._urc(f"+QTONEDET: {ord(key)}" if self.voice.vendor == "quectel" else f"+RXDTMF: {key}")

    def hang_up_far(self) -> None:
        with self._lock:
            if self._call is None:
                raise RuntimeError("no call is up")
            self._end(self._call.generation, "no_carrier")

    def ring_in(self, number: str) -> None:
        """Someone calls the modem: RING and +CLIP every few seconds until ATA, or until they give up."""
        with self._lock:
            if self._call is not None:
                raise RuntimeError("a call is already up")
            self._generation += 1
            gen = self._generation
            self._call = _Call(number, False, "incoming", gen)
        self._ring(gen, number, RINGS_BEFORE_GIVING_UP)

    def lost(self) -> None:
        """The module reset or lost power: the call is gone without a word."""
        with self._lock:
            if self._call is not None:
                self._record(self._call, "modem_reset")
            self._call, self._dtmf = None, False
            self._generation += 1

    def close(self) -> None:
        with self._lock:
            self._generation += 1
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()

    def current(self) -> dict[str, Any] | None:
        with self._lock:
            call = self._call
            return None if call is None else {"number": call.number, "state": call.state, "at": call.dialled_at,
                                              "direction": "outgoing" if call.outgoing else "incoming"}

    # --- internals ------------------------------------------------------------------------------------------
    def _ring(self, gen: int, number: str, left: int) -> None:
        with self._lock:
            if self._generation != gen or self._call is None or self._call.state != "incoming":
                return
            if left <= 0:
                self._end(gen, "no_carrier")  # the caller gave up
                return
            self._urc("RING")
            self._urc(f'+CLIP: "{number}",{145 if number.startswith("+") else 129},"",0,"",0')
        self._later(RING_EVERY_S, gen, lambda: self._ring(gen, number, left - 1))

    def _set_state(self, gen: int, state: str) -> None:
        with self._lock:
            if self._generation == gen and self._call is not None and self._call.state == "dialing":
                self._call.state = state

    def _answered(self, gen: int, callee: Callee | None) -> None:
        with self._lock:
            call = self._call
            if self._generation != gen or call is None:
                return
            call.state, call.answered_at = "active", time.monotonic()
            if self.voice.vendor == "simcom":
                self._urc("VOICE CALL: BEGIN")
        if callee is None:
            return
        for i, key in enumerate(callee.press):
            at = callee.press_after_s + i * callee.press_every_s
            self._later(at, gen, functools.partial(self._press_in, gen, key))
        if callee.hang_up_after_s is not None:
            self._later(callee.hang_up_after_s, gen, lambda: self._end(gen, "no_carrier"))

    def _press_in(self, gen: int, key: str) -> None:
        with self._lock:
            if self._generation == gen:
                self.press(key)

    def _end(self, gen: int | None, reason: str) -> None:
        """The call ends: `reason` "local" (ATH) answers OK only; otherwise the URC that says why."""
        with self._lock:
            call = self._call
            if call is None or (gen is not None and gen != self._generation):
                return
            self._call = None
            self._generation += 1
            self._record(call, reason)
            if self.voice.vendor == "simcom" and call.answered_at is not None:
                secs = int(time.monotonic() - call.answered_at)
                self._urc(f"VOICE CALL: END: {secs // 60:02d}{secs % 60:02d}")
            if reason != "local":
                self._urc({"busy": "BUSY", "no_answer": "NO ANSWER"}.get(reason, "NO CARRIER"))

    def _record(self, call: _Call, reason: str) -> None:
        self.voice.history.append({"number": call.number, "direction": "outgoing" if call.outgoing else "incoming",
                                   "answered": call.answered_at is not None, "ended": reason, "keys": call.keys,
                                   "at": call.dialled_at})

    def _later(self, delay: float, gen: int, action: Callable[[], None]) -> None:
        def fire() -> None:
            with self._lock:
                if self._generation == gen:
                    action()

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()
