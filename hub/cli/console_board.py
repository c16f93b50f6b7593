"""`hub console`'s board of open alarms: fed by the hubs' events and retained status, numbered most
severe first. Called from paho's thread (messages) and the console's (commands), hence the lock."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from hub.alarms.store import severity
from hub.cli.event_lines import describe
from hub.cli.event_text import ALARMS, alarm_label

FACT_KEYS = ("kind", "button", "cause", "reason", "source", "temperature_c", "test", "device", "trigger", "room")
CLOSING = {"call.acknowledged", "call.cancelled", "alarm.acknowledged", "health.acknowledged",
           "power.acknowledged"}
STATUS_LAG_S = 3.0  # a status older than an event it does not list yet must not drop that event's alarm


@dataclass
class Item:
    id: str
    hub: str
    type: str
    since: str
    facts: dict[str, Any]
    seen: float = field(default_factory=time.monotonic)
    escalated: bool = False

    @property
    def order(self) -> tuple[int, str]:
        return severity(self.type, self.facts.get("kind")), self.since


class Board:
    def __init__(self, by: str, message: str | None) -> None:
        self.by, self.message_text = by, message
        self.items: dict[str, Item] = {}
        self.shown: list[str] = []  # ids in the order of the list last printed: what `a N` means
        self._lock = threading.RLock()
        self._last_status: dict[str, str] = {}  # topic -> line last printed for it

    def say(self, text: str) -> None:
        with self._lock:
            print(text, flush=True)

    def message(self, topic: str, body: Any, raw: bool) -> None:
        with self._lock:
            if raw:
                print(json.dumps({"topic": topic, "payload": body}, ensure_ascii=False), flush=True)
            elif topic.endswith(("/status", "/config/reported")):
                # The hub refreshes its retained status every few seconds, and sends its last config report
                # again at every start; the operator needs a line only when something in it changed
                # (online/offline, queue, awaiting acks; a new report), not an old refusal once more.
                line = describe(topic, body)
                if self._last_status.get(topic) != line:
                    self._last_status[topic] = line
                    print(line, flush=True)
            else:
                print(describe(topic, body), flush=True)
            if not isinstance(body, dict):
                return
            changed = self._status(body) if topic.endswith("/status") else self._event(body)
            if changed and not raw:
                self.show()

    def _event(self, body: dict[str, Any]) -> bool:
        etype, data = body.get("type"), body.get("data") or {}
        if not isinstance(data, dict):
            return False
        if etype in ALARMS or etype == "call.raised":
            alarm_id, facts = str(body.get("id")), {k: data[k] for k in FACT_KEYS if k in data}
            known = self.items.get(alarm_id)
            if known is not None:  # listed already from the hub's status (after a reconnect the status can
                known.facts = {**known.facts, **facts}  # come before the delayed event): not news, no new list
                return False
            self.items[alarm_id] = Item(alarm_id, str(body.get("hub")), str(etype), str(body.get("ts")), facts)
            return True
        if etype in CLOSING:
            return self.items.pop(str(data.get("call_id") or data.get("alarm_id")), None) is not None
        escalating = self.items.get(str(data.get("call_id"))) if etype == "call.escalated" else None
        if escalating is not None and not escalating.escalated:
            escalating.escalated = True
            return True
        return False

    def _status(self, body: dict[str, Any]) -> bool:
        """The hub's own list: alarms raised before the console started, or joined into another."""
        listed = body.get("open_alarms")
        if not isinstance(listed, list):
            return False
        hub, changed = str(body.get("hub")), False
        waiting = {str(a.get("alarm_id")): a for a in listed if isinstance(a, dict) and not a.get("acknowledged")}
        joined = {str(i) for a in listed if isinstance(a, dict) for i in a.get("also") or ()}
        for item in [i for i in self.items.values() if i.hub == hub and i.id not in waiting]:
            # a joined event (mains lost again before the first was acked) is its alarm's: one line, one ack;
            # an id the hub does not list yet may be newer than this status
            if item.id in joined or time.monotonic() - item.seen > STATUS_LAG_S:
                del self.items[item.id]
                changed = True
        for alarm_id, a in waiting.items():
            found = self.items.get(alarm_id)
            if found is None:
                self.items[alarm_id] = Item(alarm_id, hub, str(a.get("type")), str(a.get("since")),
                                            {k: a[k] for k in FACT_KEYS if k in a}, escalated=bool(a.get("escalated")))
                changed = True
            else:
                found.escalated = found.escalated or bool(a.get("escalated"))
        return changed

    def show(self) -> None:
        with self._lock:
            ordered = sorted(self.items.values(), key=lambda i: i.order)
            self.shown = [i.id for i in ordered]
            if not ordered:
                print("  no open alarms 无待处理报警", flush=True)
                return
            print(f"  open alarms 待处理报警 ({len(ordered)}; 'a N' acknowledges number N):", flush=True)
            for n, i in enumerate(ordered, 1):
                since = i.since[11:19] if len(i.since) >= 19 else i.since
                print(f"  {n}. {alarm_label(i.type, i.facts)} · {i.hub} · since {since}"
                      f"{' · 已升级 ESCALATED' if i.escalated else ''}  [id {i.id}]", flush=True)

    def is_open(self, alarm_id: str) -> bool:
        with self._lock:
            return alarm_id in self.items

    def pick(self, number: str) -> Item | None:
        """Number N of the list last printed, if it is still open; else say why not."""
        with self._lock:
            if not self.shown:
                print("  nothing open to acknowledge 无待处理报警", flush=True)
                return None
            if not number.isdigit() or not 1 <= int(number) <= len(self.shown):
                print(f"  没有第 {number} 条（共 {len(self.shown)} 条）no number {number!r}: the list has "
                      f"1..{len(self.shown)}; l 重新列出 'l' lists again", flush=True)
                return None
            item = self.items.get(self.shown[int(number) - 1])
            if item is None:
                print(f"  第 {number} 条已处理 number {number} is no longer open; l 重新列出 'l' lists again",
                      flush=True)
            return item
