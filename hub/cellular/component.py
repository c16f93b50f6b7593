"""The cellular second path. When an alarm has waited `[modem] sms_after_s` (30 s) without reaching the
platform — broadband down, broker gone, a half-open link — it goes to the duty numbers by SMS; a reply
starting with "1" from one of those numbers acknowledges every alarm texted to it, reported to the
platform as the alarm's acknowledgement with `via: "sms"` (queued in the outbox like any event, so it
arrives once the broker is back) and told to the resident like an operator's ack.

Voice: `dial()` rings a number by ATD for the voice-call chain (hub.voicecall, through
ctx.component("cellular")) and the escalation chain; the responder presses 1 to acknowledge
(hub/cellular/voice.py). `send_sms()` texts any numbers. Both are the public API of this component.

The modem is re-initialised with backoff whenever it stops answering (unplugged, reset: "RDY"); SIM,
registration, signal and the IMS (VoLTE) setting are in `hub status` under `cellular` and refreshed
every `poll_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.modem.at import fit_sms, parse_cmgr, parse_cmti, parse_cpin, parse_csq, parse_registration, registered
from drivers.modem.client import AtError, AtModem, AtTimeout
from drivers.modem.ims import read_ims, vendor_of
from hub.cellular import voice
from hub.cellular.sms import alarm_text, is_ack, same_number, sms_worthy
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.events import Event

log = logging.getLogger(__name__)
# (sender, body) -> True if it acknowledged something: hears every SMS before the duty-number check
SmsListener = Callable[[str, str], Awaitable[bool]]
SMS_RETRY_S = 30.0  # after a refused SMS: the network is not going to change its mind within a second
IMS_ON = 'AT+QCFG="ims",1'
INIT = ("ATE0", "AT+CMEE=1", "AT+CMGF=1", 'AT+CSCS="UCS2"', "AT+CNMI=2,1,0,0,0", "AT+CLIP=1")


@dataclass
class Waiting:
    event: Event
    since: float  # monotonic: when it was committed
    texted_to: list[str] = field(default_factory=list)
    next_try: float = 0.0  # monotonic: after an SMS the network refused, wait before the next attempt


class Cellular:
    name = "cellular"

    def __init__(self, config: Config) -> None:
        m = config["modem"]
        self.port_name: str = m["port"]
        self.baudrate, self.numbers = int(m["baudrate"]), [str(n) for n in m["sms_numbers"]]
        self.after_s, self.poll_s = float(m["sms_after_s"]), float(m["poll_s"])
        self.hub_id, self.resident_ref = config["hub"]["id"], config["hub"]["resident_ref"]
        self._ctx: HubContext | None = None
        self._modem: AtModem | None = None
        self._waiting: dict[str, Waiting] = {}
        self._wake = asyncio.Event()
        self.listen_s = float(m["call_listen_s"])
        self._status: dict[str, Any] = {"port": self.port_name, "modem": "starting"}
        self._sent = 0
        self._vendor = "other"
        self._call: voice.ModemCall | None = None
        self._call_lock = asyncio.Lock()  # one modem, one call at a time
        self._ringing: str | None = None  # who is calling the modem (+CLIP), logged once
        self._sms_listeners: list[SmsListener] = []

    def on_sms(self, listener: SmsListener) -> None:
        """Hear every SMS the modem receives (hub.escalation: a "1" from someone its chain texted)."""
        self._sms_listeners.append(listener)

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        ctx.on_event(self._on_event)
        ctx.on_delivered(self._on_delivered)
        ctx.set_status("cellular", self._status)
        ctx.spawn("cellular.modem", self._run())

    async def close(self) -> None:
        modem, self._modem = self._modem, None
        if modem is not None:
            modem.close()

    # --- what the hub tells us ---------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if sms_worthy(event):
            self._waiting[event.id] = Waiting(event, time.monotonic())
            self._wake.set()

    def _on_delivered(self, event_id: str) -> None:
        waiting = self._waiting.pop(event_id, None)
        if waiting is not None and waiting.texted_to:
            log.info("alarm %s reached the platform after it was texted to %s", event_id, waiting.texted_to)

    # --- the modem --------------------------------------------------------------------------------------------
    async def _run(self) -> None:
        delay = 2.0
        while True:
            try:
                await self._session()
                delay = 2.0
            except (OSError, AtError, AtTimeout) as exc:
                self._set(modem="no_answer", error=str(exc)[:120])
                log.warning("4G 模块无应答 modem not answering on %s (%s); retrying in %.0f s", self.port_name,
                            exc, delay)
            await self.close()
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 300.0)

    async def _session(self) -> None:
        assert self._ctx is not None
        port = await asyncio.to_thread(self._ctx.hardware.open_serial, self.port_name, baudrate=self.baudrate,
                                       timeout=0.5)
        reset = asyncio.Event()
        inbox: asyncio.Queue[int] = asyncio.Queue()

        def unsolicited(line: str) -> None:
            call = self._call
            if call is not None and call.urc(line):
                return
            if line.startswith("+CMTI:"):
                with contextlib.suppress(ValueError):
                    inbox.put_nowait(parse_cmti(line)[1])
            elif line == "RDY":
                reset.set()  # the module restarted: its settings are gone, set them again
            elif (caller := voice.incoming_caller(line)) is not None and caller != self._ringing:  # once a call
                self._ringing = caller
                log.info("modem: incoming call from %s not answered (the modem path has no speech)", self._ringing)
            elif line == "NO CARRIER":
                self._ringing = None

        self._modem = modem = AtModem(port, unsolicited)
        modem.start()
        for command in INIT:
            await modem.command(command)
        self._vendor = await vendor_of(modem)
        self._set(vendor=self._vendor, dtmf=await voice.enable_dtmf(modem, self._vendor))
        await self._poll(modem)
        next_poll = time.monotonic() + self.poll_s
        while not reset.is_set() and not modem.closed:
            self._wake.clear()
            while not inbox.empty():
                await self._read_reply(modem, inbox.get_nowait())
            await self._text_overdue(modem)
            if time.monotonic() >= next_poll:
                await self._poll(modem)
                next_poll = time.monotonic() + self.poll_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_any(inbox), timeout=1.0)
        self._set(modem="restarted")
        log.warning("modem restarted (RDY): initialising it again")

    async def _wait_any(self, inbox: asyncio.Queue[int]) -> None:
        """Until an SMS is announced or the hub wakes us; the index stays in the inbox. Both waiters are
        cancelled however this ends (a timeout cancels us): a leaked `inbox.get()` would swallow the
        next announced SMS."""
        getter = asyncio.ensure_future(inbox.get())
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({getter, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waker.cancel()
            if getter.done() and not getter.cancelled():
                inbox.put_nowait(getter.result())
            else:
                getter.cancel()

    async def _poll(self, modem: AtModem) -> None:
        try:
            sim = parse_cpin((await modem.command("AT+CPIN?"))[0])
        except AtError as exc:
            sim = "absent" if exc.final.code == 10 else f"error {exc.final.code}"
        reg = cs = parse_registration((await modem.command("AT+CREG?"))[0], reply=True)
        with contextlib.suppress(AtError):
            lte = parse_registration((await modem.command("AT+CEREG?"))[0], reply=True)
            reg = lte if registered(lte) else reg
        dbm = parse_csq((await modem.command("AT+CSQ"))[0])
        ims, volte = await read_ims(modem, self._vendor)
        self._set(modem="ok", sim=sim, registration=reg, cs_registration=cs, signal_dbm=dbm, ims=ims, volte=volte,
                  error=None)
        if sim != "READY":
            log.warning("4G 模块无 SIM 卡或 SIM 未就绪 (%s)：检查 SIM 卡 / no usable SIM: check the card", sim)
        elif not registered(reg):
            log.warning("4G 未注册网络 (%s)：检查天线和信号 / not registered: check the antenna and coverage", reg)

    async def _text_overdue(self, modem: AtModem) -> None:
        now = time.monotonic()
        for waiting in list(self._waiting.values()):
            if now - waiting.since < self.after_s or now < waiting.next_try or self._ctx is None:
                continue
            text = alarm_text(waiting.event, self.hub_id, self.resident_ref)
            for number in self.numbers:
                if number in waiting.texted_to:
                    continue
                try:
                    await modem.send_sms(number, text)
                except AtError as exc:  # refused by the network: try again on the next round
                    self._set(error=f"SMS to {number}: {exc.final.text}")
                    log.warning("短信发送失败 SMS to %s failed: %s; retrying in %.0f s", number, exc.final.text,
                                SMS_RETRY_S)
                    waiting.next_try = now + SMS_RETRY_S
                    continue
                self._ctx.alarms.note_fact(waiting.event.id, "texted")  # the modem's +CMGS
                if not waiting.texted_to:
                    # the resident hears help was reached another way
                    self._ctx.say("cellular_sms_sent", about=waiting.event.id)
                waiting.texted_to.append(number)
                self._sent += 1
                self._set(sms_sent=self._sent)
                log.info("alarm %s (%s) texted to %s", waiting.event.id, waiting.event.type, number)

    async def _read_reply(self, modem: AtModem, index: int) -> None:
        lines = await modem.command(f"AT+CMGR={index}")
        with contextlib.suppress(AtError):
            await modem.command(f"AT+CMGD={index}")  # the SIM holds few messages: never let it fill
        try:
            sms = parse_cmgr(lines)
        except ValueError:
            log.warning("unreadable SMS at index %d: %r", index, lines[:2])
            return
        for listener in list(self._sms_listeners):
            try:
                await listener(sms.sender, sms.body)
            except Exception:
                log.exception("SMS listener failed")
        if not any(same_number(sms.sender, n) for n in self.numbers):
            log.info("SMS from %s, not a duty number: ignored", sms.sender)
            return
        if not is_ack(sms.body):
            log.info("SMS from %s is not an acknowledgement (%r): ignored", sms.sender, sms.body[:40])
            return
        texted = [w for w in self._waiting.values() if any(same_number(sms.sender, n) for n in w.texted_to)]
        for waiting in texted:
            await self._acknowledge(waiting, sms.sender, sms.body)

    async def _acknowledge(self, waiting: Waiting, sender: str, body: str) -> None:
        assert self._ctx is not None
        # Not "named": the resident hears "社区已收到…", not a phone number read out digit by digit.
        taken = await self._ctx.alarms.ack(waiting.event.id, sender, body.strip()[:100] or None, named=False,
                                           via="sms")
        if taken:
            log.info("alarm %s acknowledged by SMS from %s", waiting.event.id, sender)

    # --- the public API (ctx.component("cellular"): hub.voicecall, the escalation chain) --------------------
    async def send_sms(self, numbers: list[str], text: str) -> list[str]:
        """Text `text` (cut to one SMS) to each number; the numbers the network took it for."""
        took: list[str] = []
        for number in numbers:
            modem = self._modem
            if modem is None or modem.closed:
                break
            try:
                await modem.send_sms(number, fit_sms(text))
            except (AtError, AtTimeout) as exc:
                log.warning("短信发送失败 SMS to %s failed: %s", number, exc)
                continue
            took.append(number)
        return took

    async def dial(self, number: str, *, event_id: str | None, ring_s: float, prompt: str | None = None,
                   on_answered: Callable[[], None] | None = None) -> dict[str, Any]:
        """Ring `number` by the modem for up to `ring_s`; once answered the resident hears `prompt` (a prompt
        key; default "cellular_call_answered") and the responder has `[modem] call_listen_s` to press 1,
        which acknowledges `event_id` (via "voice"). `on_answered` is told the moment they pick up."""
        result: dict[str, Any] = {"number": number, "answered": False, "acknowledged": False, "seconds": 0.0}
        modem, ctx = self._modem, self._ctx
        if modem is None or modem.closed or ctx is None or self._status.get("modem") != "ok":
            return {**result, "reason": voice.NO_MODEM}
        if self._status.get("sim") != "READY" or not registered(str(self._status.get("registration"))):
            return {**result, "reason": voice.NOT_REGISTERED}

        def answered() -> None:
            ctx.say(prompt or "cellular_call_answered")
            if on_answered is not None:
                on_answered()

        async def acknowledged() -> None:
            if event_id is not None:
                await ctx.alarms.ack(event_id, number, "按1确认 (DTMF 1)", named=False, via="voice")

        async with self._call_lock:
            self._call = call = voice.ModemCall(number)
            self._set(call=f"calling {number}")
            try:
                reason = await voice.place(modem, call, ring_s, self.listen_s, answered, acknowledged)
            finally:
                self._call = None
                self._set(call=None)
        if reason == voice.MODEM_FAULT and self._status.get("volte") is not True \
                and not registered(str(self._status.get("cs_registration"))):
            log.warning("电话拨不出：此网络没有 2G/3G 语音，VoLTE 未开启 (IMS %s)：在模块 AT 口发送 %s 再发 "
                        "AT+CFUN=1,1 / call failed: no 2G/3G voice here and VoLTE is off: send %s then "
                        "AT+CFUN=1,1 on the modem's AT port (hub selftest --only modem)", self._status.get("ims"),
                        IMS_ON, IMS_ON)
        talk = time.monotonic() - call.answered_at if call.answered_at is not None else 0.0
        log.info("modem call to %s (event %s): %s after %.1f s talk%s", number, event_id, reason, talk,
                 f" ({call.detail})" if call.detail else "")
        return {**result, "answered": call.answered_at is not None, "acknowledged": reason == voice.ACKNOWLEDGED,
                "seconds": round(talk, 1), "reason": reason}

    def _set(self, **fields: Any) -> None:
        self._status.update(fields)
        if self._ctx is not None:
            self._ctx.set_status("cellular", dict(self._status))


def build(config: Config, hardware: Hardware) -> Cellular | None:
    return Cellular(config) if config["modem"]["port"] else None
