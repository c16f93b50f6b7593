"""Door contacts and bed/chair mats: GPIO contacts into the activity stream, with supervision.

Each change is stamped on the GPIO library's alert thread and handed to the loop, where it becomes an activity
(`hub.detect.contacts.inputs` names it: `X-door-front:ON` the exit door opening, `P-bed-bed:OFF` getting
out of bed...) that the inactivity detector reads: the exit door for presence, mats for rest. The
flicker of a mat (OFF for a moment while someone still lies or sits) is absorbed by the detector
(`[inactivity] mat_hold_s`); here the line's debounce (the kernel's, on lgpio) drops the electrical
chatter. A named task checks supervision every minute and raises `fault.sensor` / `fault.cleared`; `hub status` shows
each contact's state under "contacts".
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.detect.contacts.inputs import Contact, FaultChange, Supervision, door, mat, remedy

log = logging.getLogger(__name__)

CHECK_S = 60.0


class Contacts:
    name = "contacts"

    def __init__(self, config: Config) -> None:
        self.cfg = config.data
        self.contacts = [door(d) for d in self.cfg["doors"]] + [mat(m) for m in self.cfg["mats"]]
        self._ctx: HubContext | None = None
        self._inputs: list[Any] = []
        self._supervision: Supervision | None = None
        self._fault_ids: dict[str, str] = {}
        self._closed = False

    async def start(self, ctx: HubContext) -> None:
        from sensors.contacts import ContactInput

        self._ctx = ctx
        loop = asyncio.get_running_loop()
        self._supervision = Supervision(self.contacts, ctx.clock.now())
        settings = [(d["closed_when_shut"] is False, d["bounce_ms"]) for d in self.cfg["doors"]] + \
                   [(m["closed_when_occupied"], m["bounce_ms"]) for m in self.cfg["mats"]]
        for contact, (active_when_closed, bounce_ms) in zip(self.contacts, settings, strict=True):

            def changed(active: bool, c: Contact = contact) -> None:  # the GPIO library's alert thread
                loop.call_soon_threadsafe(self._on_change, c, active, ctx.clock.now())

            device = ContactInput(ctx.hardware.gpio, contact.pin, active_when_closed, bounce_ms,
                                  changed, contact.part)
            self._inputs.append(device)
        self.read_all()
        ctx.spawn("contacts.supervise", self._supervise())
        self._publish()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for device in self._inputs:
            try:
                device.close()
            except Exception:
                log.exception("closing %s failed", device.part)
        self._inputs.clear()

    def read_all(self) -> None:
        """Take every line's level as its state, without counting it as activity (at start-up; the
        simulation calls it again once it has set its initial levels)."""
        for contact, device in zip(self.contacts, self._inputs, strict=True):
            contact.active = device.active
        self._publish()

    def _on_change(self, contact: Contact, active: bool, ts: datetime) -> None:
        if self._closed or active == contact.active:
            return  # a bounce that settled back, or a repeated edge
        ctx = self._require_ctx()
        ctx.activity.note(f"{contact.source}:{'ON' if active else 'OFF'}", ts, exit_door=contact.exit)
        assert self._supervision is not None
        self._act(self._supervision.change(contact, active, ts))
        self._publish()

    async def _supervise(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(CHECK_S)

    async def check(self) -> None:
        """Look at the clock now: raise what supervision found (the sim verbs call this after a change)."""
        assert self._supervision is not None
        for change in self._supervision.check(self._require_ctx().clock.now()):
            await self._raise(change)

    def _act(self, changes: list[FaultChange]) -> None:
        for change in changes:
            self._require_ctx().spawn(f"contacts.fault.{change.contact.name}", self._raise(change))

    async def _raise(self, change: FaultChange) -> None:
        ctx, c = self._require_ctx(), change.contact
        data: dict[str, Any] = {"component": c.kind, "part": c.part, "kind": change.kind}
        key = f"{c.kind}:{c.name}"
        if change.action == "fault":
            log.warning("%s: %s (%s)", c.part, change.kind, change.detail)
            event = await ctx.raise_event("fault.sensor", {**data, "detail": change.detail,
                                                           "remedy": remedy(c, change.kind)})
            self._fault_ids[key] = event.id
        else:
            await ctx.raise_event("fault.cleared", {**data, "fault_id": self._fault_ids.pop(key, "")})
        self._publish()

    def status(self) -> dict[str, Any]:
        return {f"{c.kind}:{c.name}": {"state": _state(c), "exit": c.exit, "fault": c.fault or None,
                         "since": c.changed.isoformat(timespec="seconds") if c.changed else None}
                for c in self.contacts}

    def _publish(self) -> None:
        if self._ctx is not None:
            self._ctx.set_status("contacts", self.status())

    def _require_ctx(self) -> HubContext:
        assert self._ctx is not None, "contacts component not started"
        return self._ctx


def _state(c: Contact) -> str:
    if c.kind == "door":
        return "open" if c.active else "shut"
    return "occupied" if c.active else "free"


def build(config: Config, hardware: Hardware) -> Contacts | None:
    return Contacts(config) if config["doors"] or config["mats"] else None
