"""The Home Assistant bridge: discovery documents once, then states that follow the hub's events.

States (retained JSON under `{bridge}/…`, hub.homeassistant.discovery reads them with templates):
  alarms          {"help": "ON"|"OFF", "open_calls": n, "open_alarms": n, "alarms": [...]} on every
                  event that opens, escalates, acknowledges or closes an alarm
  activity        {"last": ISO time, "source": "pir"|...}, at most every `activity_every_s`
  climate         {"temperature_c", "humidity_pct", "at"} from telemetry.environment
  blood_pressure  {"systolic", "diastolic", "pulse", "grade", "at"} from measurement.blood_pressure
  glucose         {"mmol_per_l", "category", "meal", "at"} from measurement.glucose

The alarm itself still goes to the platform through the outbox; this is a picture for the family,
sent through ctx.publish_state (latest value, QoS 0, again after each reconnect).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from hub.config.loader import Config
from hub.core.activity import Activity
from hub.core.context import Hardware, HubContext
from hub.core.events import Event, strict_json
from hub.homeassistant.discovery import bridge_base, documents

log = logging.getLogger(__name__)


def _json(body: dict[str, Any]) -> str:
    return strict_json(body, "homeassistant", sort_keys=True)


class HomeAssistantBridge:
    name = "homeassistant"

    def __init__(self, config: Config) -> None:
        section = config["homeassistant"]
        self.hub_id = config.hub_id
        self.bridge = bridge_base(section["bridge_prefix"], config.hub_id)
        self.discovery = section["discovery_prefix"]
        self.device_name = section["device_name"]
        self.activity_every_s = float(section["activity_every_s"])
        self.status_topic = f"{config.topic_base}/status"
        self.ctx: HubContext | None = None
        self._activity_sent = float("-inf")  # monotonic time of the last activity state
        self._activity_due: asyncio.TimerHandle | None = None
        self._pending: Activity | None = None
        self._newest: datetime | None = None  # time of the latest sign of life seen
        self._closed = False

    async def start(self, ctx: HubContext) -> None:
        self.ctx = ctx
        docs = documents(self.hub_id, self.bridge, self.discovery, self.status_topic, self.device_name)
        for topic, doc in docs:
            ctx.publish_state(topic, _json(doc))
        self._alarms()
        if ctx.activity.last is not None:
            self._on_activity(ctx.activity.last)
        ctx.on_event(self._on_event)
        ctx.activity.subscribe(self._on_activity)
        ctx.clock.on_step(self._clock_stepped)
        log.info("Home Assistant bridge: %d entities under %s/…/%s, states on %s/…", len(docs), self.discovery,
                 self.hub_id, self.bridge)

    def _state(self, name: str, body: dict[str, Any]) -> None:
        if self.ctx is not None and not self._closed:
            self.ctx.publish_state(f"{self.bridge}/{name}", _json(body))

    # --- from events -------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        data = event.data
        at = event.ts.isoformat()
        if event.type == "telemetry.environment" and data.get("temperature_c") is not None:
            self._state("climate", {"temperature_c": data["temperature_c"], "humidity_pct": data.get("humidity_pct"),
                                    "at": at})
        elif event.type == "measurement.blood_pressure":
            self._state("blood_pressure", {"systolic": data["systolic"], "diastolic": data["diastolic"],
                                           "pulse": data.get("pulse"), "grade": data.get("grade"), "at": at})
        elif event.type == "measurement.glucose" and data.get("mmol_per_l") is not None:
            self._state("glucose", {"mmol_per_l": data["mmol_per_l"], "category": data.get("category"),
                                    "meal": data.get("meal"), "at": at})
        # The alarm registry takes the change in just after the event's commit (hub.alarms.registry): read
        # it on the loop's next turn. An unchanged picture is not sent again (hub.core.uplink.retained).
        asyncio.get_running_loop().call_soon(self._alarms)

    def _alarms(self) -> None:
        if self.ctx is None:
            return
        open_alarms = self.ctx.alarms.open_alarms()
        listing = [{"type": a.type, "since": a.since, "acknowledged": a.acknowledged, "escalated": a.escalated}
                   for a in open_alarms]
        waiting = [a for a in open_alarms if not a.acknowledged]
        self._state("alarms", {
            "help": "ON" if waiting else "OFF",
            "open_calls": sum(1 for a in open_alarms if a.type == "call.raised"),
            "open_alarms": len(open_alarms),
            "alarms": listing,
        })

    # --- activity, throttled ------------------------------------------------------------------------
    def _on_activity(self, activity: Activity) -> None:
        if self.ctx is None or self._closed:
            return
        if self._newest is not None and activity.ts < self._newest:
            return  # a meter's reading noted with its own, older time: the later sign of life stands
        self._newest = activity.ts
        self._pending = activity
        now = self.ctx.clock.monotonic()
        wait = self._activity_sent + self.activity_every_s - now
        if wait <= 0:
            self._send_activity()
        elif self._activity_due is None:
            self._activity_due = asyncio.get_running_loop().call_later(wait, self._send_activity)

    def _clock_stepped(self, jumped_s: float) -> None:
        self._newest = None  # set back by NTP: times after the step are the true ones

    def _send_activity(self) -> None:
        self._activity_due = None
        activity, self._pending = self._pending, None
        if activity is None or self.ctx is None:
            return
        self._activity_sent = self.ctx.clock.monotonic()
        self._state("activity", {"last": activity.ts.isoformat(), "source": activity.source})

    async def close(self) -> None:
        self._closed = True
        if self._activity_due is not None:
            self._activity_due.cancel()
            self._activity_due = None


def build(config: Config, hardware: Hardware) -> HomeAssistantBridge | None:
    return HomeAssistantBridge(config) if config["homeassistant"]["enabled"] else None
