"""The cellular second path. When an alarm has waited `[modem] sms_after_s` (30 s) without reaching the
platform — broadband down, broker gone, a half-open link — it goes to the duty numbers by SMS
(hub/cellular/overdue.py); a reply "1" from one of those numbers acknowledges the alarm texted to it last
(within ACK_WINDOW_S), "1#CODE" the alarm it names (hub/cellular/replies.py), reported to the platform
as the alarm's acknowledgement with `via: "sms"` (queued in the outbox like any event, so it arrives
once the broker is back) and told to the resident like an operator's ack. Any other SMS is forwarded as
`sms.received`, a refused "1" is an `sms.refused`.

Voice: `dial()` rings a number by ATD for the voice-call chain (hub.voicecall, through
ctx.component("cellular")) and the escalation chain; the responder presses 1 to acknowledge
(hub/cellular/voice.py). `send_sms()` texts any numbers. Both are the public API of this component.

The modem is re-initialised with backoff whenever it stops answering (unplugged, reset: "RDY"); an
answer it cannot read is logged with its bytes and the task goes on. A watch restarts the modem task,
with backoff, if it ever dies or stops going round (STALL_S), and `cellular.modem` says "fault" meanwhile.
SIM, registration, signal and the IMS (VoLTE) setting (hub/cellular/poll.py) are in `hub status`
under `cellular`, refreshed every `poll_s`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from drivers.modem.at import fit_sms, parse_cmgr, parse_cmti, registered
from drivers.modem.client import AtError, AtModem, AtTimeout
from drivers.modem.ims import vendor_of
from hub.alarms.sms_form import e164, masked
from hub.cellular import poll, replies, voice
from hub.cellular.overdue import Overdue
from hub.cellular.replies import Claim, SmsListener
from hub.cellular.watch import TaskWatch
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.events import Event

log = logging.getLogger(__name__)
# The modem task goes round at least every second, or within one exchange (an SMS: 70 s at most); silent
# this long, it is stuck and restarted. The watch looks every WATCH_S.
STALL_S, WATCH_S = 180.0, 5.0
INIT = ("ATE0", "AT+CMEE=1", "AT+CMGF=1", 'AT+CSCS="UCS2"', "AT+CNMI=2,1,0,0,0", "AT+CLIP=1")


class Cellular:
    name = "cellular"

    def __init__(self, config: Config) -> None:
        m = config["modem"]
        self.port_name: str = m["port"]
        self.baudrate, self.numbers = int(m["baudrate"]), [str(n) for n in m["sms_numbers"]]
        self.after_s, self.poll_s, self.hub_id = float(m["sms_after_s"]), float(m["poll_s"]), config["hub"]["id"]
        # as the escalation chain's SMS: [resident] reference, else [hub] resident_ref
        self.resident_ref = (config.get("resident") or {}).get("reference") or config["hub"]["resident_ref"]
        self._ctx: HubContext | None = None
        self._modem: AtModem | None = None  # the session's, None between sessions
        self.overdue = Overdue(self.numbers, self.after_s, self.hub_id, self.resident_ref,  # the second path's SMS
                               float(m["sms_retry_s"]))
        self._wake = asyncio.Event()
        self.listen_s = float(m["call_listen_s"])
        self._status: dict[str, Any] = {"port": self.port_name, "modem": "starting"}
        self._sent, self._vendor = 0, "other"
        self._call: voice.ModemCall | None = None
        self._call_lock = asyncio.Lock()  # one modem, one call at a time
        self._ringing: str | None = None  # who is calling the modem (+CLIP), logged once
        self._sms_listeners: list[SmsListener] = [self._claims]
        self._strangers = replies.Budget()  # events about SMS from numbers never texted: bounded
        self._told: set[tuple[str, str, str]] = set()  # (number, alarm, text) a reply was answered with
        self.watch = TaskWatch("cellular.modem", self._run, self._fault, lambda: self._status.get("modem") == "ok",
                               self._drop_modem, STALL_S, WATCH_S)

    def on_sms(self, listener: SmsListener) -> None:
        """Be asked who an SMS "1" may acknowledge (hub.escalation: the alarms its chain texted the sender
        about); hub/cellular/replies.py picks one alarm of all the listeners' answers."""
        self._sms_listeners.append(listener)

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        ctx.on_event(self._on_event)
        ctx.on_delivered(self.overdue.delivered)
        ctx.set_status("cellular", self._status)
        self.watch.start(ctx.spawn)

    def _fault(self, why: str) -> None:  # the watch found the modem task dead or stuck
        self._set(modem="fault", error=why[:120], task_restarts=self.watch.restarts)

    async def close(self) -> None:
        self.watch.stop()  # and no new session: a cancellation Python 3.11's wait_for lost must not start one
        await self._drop_modem()

    async def _drop_modem(self) -> None:
        modem, self._modem = self._modem, None
        if modem is not None:
            modem.close()

    # --- what the hub tells us ---------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if self.overdue.committed(event):
            self._wake.set()

    # --- the modem --------------------------------------------------------------------------------------------
    async def _run(self) -> None:
        delay = 2.0
        while not self.watch.stopped:
            try:
                await self._session()
                delay = 2.0
            except (OSError, AtError, AtTimeout) as exc:
                self._set(modem="no_answer", error=str(exc)[:120])
                log.warning("4G 模块无应答 modem not answering on %s (%s); retrying in %.0f s", self.port_name,
                            exc, delay)
            except Exception as exc:  # a bug or an answer nobody foresaw: log it, set the module up again
                self._set(modem="fault", error=f"{exc!r}"[:120])
                log.exception("4G 模块处理出错 modem session failed (%r); starting again in %.0f s", exc, delay)
            await self._drop_modem()
            self.watch.beat(delay + self.watch.stall_s)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 300.0)

    async def _session(self) -> None:
        assert self._ctx is not None
        self.watch.beat()
        port = await asyncio.to_thread(self._ctx.hardware.open_serial, self.port_name, baudrate=self.baudrate,
                                       timeout=0.5)
        reset = asyncio.Event()
        inbox: collections.deque[int] = collections.deque()  # announced SMS, in the order they came

        def unsolicited(line: str) -> None:
            call = self._call
            if call is not None and call.urc(line):
                return
            if line.startswith("+CMTI:"):
                with contextlib.suppress(ValueError):
                    inbox.append(parse_cmti(line)[1])
                    self._wake.set()
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
            self.watch.beat()
            self._wake.clear()
            while inbox:
                await self._read_reply(modem, inbox.popleft())
            await self._text_overdue(modem)
            if time.monotonic() >= next_poll:
                await self._poll(modem)
                next_poll = time.monotonic() + self.poll_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
        self._set(modem="restarted")
        log.warning("modem restarted (RDY): initialising it again")

    async def _poll(self, modem: AtModem) -> None:
        self._set(modem="ok", **await poll.read_state(modem, self._vendor), error=None)

    async def _text_overdue(self, modem: AtModem) -> None:
        if self._ctx is not None:
            await self.overdue.text(modem, self._ctx, lambda why: self._set(error=why), self._texted)

    def _texted(self) -> None:
        self.watch.beat()
        self._sent += 1
        self._set(sms_sent=self._sent)

    async def _read_reply(self, modem: AtModem, index: int) -> None:
        assert self._ctx is not None
        lines = await modem.command(f"AT+CMGR={index}")
        with contextlib.suppress(AtError):
            await modem.command(f"AT+CMGD={index}")  # the SIM holds few messages: never let it fill
        try:
            sms = parse_cmgr(lines)
        except ValueError:
            log.warning("unreadable SMS at index %d: %r", index, lines[:2])
            return
        await replies.handle(self._ctx, sms.sender, sms.body, list(self._sms_listeners), self._strangers,
                             self._tell)

    async def _tell(self, sender: str, alarm_id: str, text: str) -> None:
        """Text a responder back about their reply: once per number, alarm and text (no ping-pong with an
        auto-reply)."""
        number = e164(sender) or sender
        if (number, alarm_id, text) in self._told:
            return
        self._told.add((number, alarm_id, text))
        if await self.send_sms([number], text):
            self._texted()
            log.info("SMS reply from %s answered: %s", masked(sender), text)

    def _claims(self, sender: str, code: str | None) -> list[Claim] | None:
        return None if self._ctx is None else self.overdue.claims(self._ctx, sender, code)

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
        return voice.report(call, reason, event_id, self._status, result)

    def _set(self, **fields: Any) -> None:
        self._status.update(fields)
        if self._ctx is not None:
            self._ctx.set_status("cellular", dict(self._status))


def build(config: Config, hardware: Hardware) -> Cellular | None:
    return Cellular(config) if config["modem"]["port"] else None
