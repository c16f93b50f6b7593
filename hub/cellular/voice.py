"""One voice call over the modem, from `ATD<number>;` to the hang-up, and how it ended.

The module answers ATD with OK at once and reports the rest on its own: "BUSY", "NO ANSWER",
"NO CARRIER" (routed here by the component from the AT client's unsolicited lines), and the far end's
keys (+QTONEDET / +RXDTMF). Whether the far end has picked up is read from AT+CLCC (TS 27.007 §7.18:
state 0 = active), every POLL_S, because an EC25 says nothing when a call is answered (a SIM7600's
"VOICE CALL: BEGIN" is taken too). Once answered the call waits up to `listen_s` for the responder to
press 1 ("按1确认"); any other key is ignored. Then the hub hangs up (AT+CHUP, ATH where refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.modem.at import call_ended, dial_command, parse_clcc, parse_clip, parse_dtmf, registered
from drivers.modem.client import LOST, AtError, AtModem, AtTimeout

log = logging.getLogger(__name__)
POLL_S = 0.5
ACK_KEY = "1"
# dial() reasons (the public API: hub.cellular.component.Cellular.dial)
ACKNOWLEDGED, HUNG_UP, NO_ANSWER, BUSY, NO_CARRIER = "acknowledged", "hung_up", "no_answer", "busy", "no_carrier"
MODEM_FAULT, NO_MODEM, NOT_REGISTERED = "modem_fault", "no_modem", "not_registered"
IMS_ON = 'AT+QCFG="ims",1'


@dataclass
class ModemCall:
    """The call under way; `urc` is fed every unsolicited line while it lasts."""

    number: str
    news: asyncio.Queue[tuple[str, str]] = field(default_factory=asyncio.Queue)  # (what, detail)
    answered_at: float | None = None
    detail: str = ""
    module_gone: bool = False  # it restarted or its port closed: nothing to hang up
    early_keys: str = ""  # keys that told us the far end had picked up

    def urc(self, line: str) -> bool:
        """True if the line was this call's news: its end, a key, SIMCom's answer, the module gone."""
        ended = call_ended(line)
        if ended is not None:
            self.news.put_nowait(("ended", ended))
            return True
        if line.startswith("VOICE CALL: BEGIN"):
            self.news.put_nowait(("answered", ""))
            return True
        if line.startswith("VOICE CALL: END"):
            return True  # followed by NO CARRIER, which says it
        if line in ("RDY", LOST):
            self.module_gone = True
            self.news.put_nowait(("fault", "the modem restarted" if line == "RDY" else "the modem's port closed"))
            return False  # the component hears it too: it sets the module up again
        try:
            key = parse_dtmf(line)
        except ValueError:
            log.warning("modem call: unreadable DTMF report %r", line)
            return True
        if key is not None:
            self.news.put_nowait(("key", key))
            return True
        return False


async def place(modem: AtModem, call: ModemCall, ring_s: float, listen_s: float,
                on_answered: Callable[[], None], on_ack: Callable[[], Awaitable[Any]]) -> str:
    """Ring `call.number` for up to `ring_s`; once answered, wait up to `listen_s` for a 1. The reason it
    ended (ACKNOWLEDGED, HUNG_UP, NO_ANSWER, BUSY, NO_CARRIER, MODEM_FAULT); the line is always hung up."""
    reason = ""  # cancelled before an outcome: still hang up
    try:
        reason = await _ring(modem, call, ring_s) or ""
        if not reason:
            on_answered()
            reason = await _listen(call, listen_s, on_ack)
        return reason
    except (AtError, AtTimeout, ValueError) as exc:  # ValueError: a number ATD cannot take, a garbled +CLCC
        call.detail = str(exc)[:120]
        call.module_gone = call.module_gone or isinstance(exc, AtTimeout)
        reason = MODEM_FAULT
        return reason
    finally:
        if not call.module_gone:  # a module that restarted has no call left to hang up
            await _hang_up(modem)


async def _ring(modem: AtModem, call: ModemCall, ring_s: float) -> str | None:
    """None once answered, else why not."""
    try:
        await modem.command(dial_command(call.number), timeout=15.0)
    except AtError as exc:  # a module that waits for the answer (AT+COLP=1) ends ATD with the reason itself
        call.detail = exc.final.text
        return call_ended(exc.final.text) or MODEM_FAULT
    deadline = time.monotonic() + ring_s
    while True:
        with contextlib.suppress(TimeoutError):
            what, detail = await asyncio.wait_for(call.news.get(), max(0.0, min(POLL_S, deadline - time.monotonic())))
            if what == "ended":
                call.detail = detail
                return detail
            if what == "fault":
                call.detail = detail
                return MODEM_FAULT
            if what in ("answered", "key"):  # only a far end that has picked up can press a key
                call.answered_at = time.monotonic()
                call.early_keys += detail if what == "key" else ""
                return None
            continue
        calls = [parse_clcc(line) for line in await modem.command("AT+CLCC", timeout=3.0) if line.startswith("+CLCC:")]
        ours = next((c for c in calls if c.outgoing and c.voice), None)
        if ours is not None and ours.state == "active":
            call.answered_at = time.monotonic()
            return None
        if ours is None and call.news.empty():  # gone without a word (its URC may still be on the way)
            call.detail = "the call vanished from AT+CLCC"
            return NO_CARRIER
        if time.monotonic() >= deadline:
            call.detail = f"no answer in {ring_s:g} s"
            return NO_ANSWER


async def _listen(call: ModemCall, listen_s: float, on_ack: Callable[[], Awaitable[Any]]) -> str:
    deadline = time.monotonic() + listen_s
    later = [call.news.get_nowait() for _ in range(call.news.qsize())]
    for item in [("key", key) for key in call.early_keys] + later:  # keys that came before AT+CLCC said so first
        call.news.put_nowait(item)
    while True:
        try:
            what, detail = await asyncio.wait_for(call.news.get(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            call.detail = f"no key 1 in {listen_s:g} s"
            return HUNG_UP
        if what == "key" and detail == ACK_KEY:
            await on_ack()
            return ACKNOWLEDGED
        if what == "key":
            log.info("modem call to %s: key %s pressed, not %s: ignored", call.number, detail, ACK_KEY)
        elif what == "ended":
            call.detail = "the far end hung up"
            return HUNG_UP
        elif what == "fault":
            call.detail = detail
            return MODEM_FAULT


async def _hang_up(modem: AtModem) -> None:
    if modem.closed:
        return
    try:
        await modem.command("AT+CHUP", timeout=5.0)
    except AtError:
        with contextlib.suppress(AtError, AtTimeout):
            await modem.command("ATH", timeout=5.0)
    except AtTimeout:
        log.warning("modem call: the hang-up got no answer (the module may have restarted)")


async def enable_dtmf(modem: AtModem, vendor: str) -> bool:
    """The far end's keys reported as URCs: Quectel AT+QTONEDET=1, SIMCom AT+DDET=1."""
    command = {"quectel": "AT+QTONEDET=1", "simcom": "AT+DDET=1"}.get(vendor)
    if command is None:
        return False
    try:
        await modem.command(command, timeout=3.0)
    except AtError as exc:
        log.warning("按键检测无法开启 DTMF detection refused (%s -> %s): a responder's 1 will not be heard",
                    command, exc.final.text)
        return False
    return True


def incoming_caller(line: str) -> str | None:
    """The number of someone ringing the modem (+CLIP, after AT+CLIP=1 or by default), else None."""
    return parse_clip(line) if line.startswith("+CLIP:") else None


def report(call: ModemCall, reason: str, event_id: str | None, status: dict[str, Any],
           result: dict[str, Any]) -> dict[str, Any]:
    """Log how the call ended (and why a call cannot go out here at all); Cellular.dial()'s result."""
    if reason == MODEM_FAULT and status.get("volte") is not True and not registered(str(status.get("cs_registration"))):
        log.warning("电话拨不出：此网络没有 2G/3G 语音，VoLTE 未开启 (IMS %s)：在模块 AT 口发送 %s 再发 "
                    "AT+CFUN=1,1 / call failed: no 2G/3G voice here and VoLTE is off: send %s then "
                    "AT+CFUN=1,1 on the modem's AT port (hub selftest --only modem)", status.get("ims"), IMS_ON, IMS_ON)
    talk = time.monotonic() - call.answered_at if call.answered_at is not None else 0.0
    log.info("modem call to %s (event %s): %s after %.1f s talk%s", call.number, event_id, reason, talk,
             f" ({call.detail})" if call.detail else "")
    return {**result, "answered": call.answered_at is not None, "acknowledged": reason == ACKNOWLEDGED,
            "seconds": round(talk, 1), "reason": reason}
