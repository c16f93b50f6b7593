"""`hub console --ack EVENT_ID`: acknowledge one open alarm and exit — only one the hub lists as open, and
"acknowledged" only once the hub has said so.

The console learns what is open from the hub's retained status (`open_alarms`, with the ids of later
events that joined an alarm under `also`), which the broker hands over on subscribing and the hub
republishes at once when an alarm opens. An id it does not list is refused with the reason and nothing
is sent. After sending `cmd/ack` the console waits for the hub's `*.acknowledged` event naming the
alarm: that is the proof the hub took it (the resident hears "社区已收到…" then). Without it in time the
console says "sent, not yet confirmed" and exits non-zero.

An id the hub lists as acknowledged — still open (a fire not yet out) or among the alarms acknowledged
lately (`acknowledged_lately`, hub.alarms.acked: a call closes when acked) — is not sent again: the console
says "已确认 already acknowledged (at 09:01, by 王芳)" and exits 0, since what the operator wanted is done.

Exit codes: 0 acknowledged (confirmed by the hub, or already before); 1 refused, nothing sent; 3 sent, not
confirmed.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import datetime, tzinfo
from typing import Any

from hub.cli.event_text import alarm_label

EXIT_REFUSED = 1
EXIT_UNCONFIRMED = 3
STATUS_GRACE_S = 3.0  # after a status that does not list the id: wait this long for a fresher one


class AckOnce:
    """Fed by paho's thread (status and events of one hub); read by the command's thread."""

    def __init__(self, prefix: str, hub_id: str, event_id: str) -> None:
        self.base, self.hub_id, self.event_id = f"{prefix}/{hub_id}", hub_id, event_id
        self._cond = threading.Condition()
        self._status: dict[str, Any] | None = None
        self._target: str | None = None
        self._confirmed: dict[str, Any] | None = None
        self.already: dict[str, Any] | None = None  # found acknowledged before: its alarm and when, by whom

    # --- paho callbacks ---------------------------------------------------------------------------
    def on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if not reason_code.is_failure:
            client.subscribe([(f"{self.base}/status", 1), (f"{self.base}/event/#", 1)])

    def on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        with self._cond:
            if message.topic.endswith("/status"):
                self._status = body
            elif str(body.get("type", "")).endswith(".acknowledged") and isinstance(body.get("data"), dict):
                named = body["data"].get("call_id") or body["data"].get("alarm_id")
                if named is not None and named in (self._target, self.event_id):
                    self._confirmed = body
            self._cond.notify_all()

    # --- the command ------------------------------------------------------------------------------
    def _listed(self, key: str = "open_alarms") -> dict[str, Any] | None:
        listed = (self._status or {}).get(key)
        for alarm in listed if isinstance(listed, list) else []:
            if isinstance(alarm, dict) and self.event_id in (alarm.get("alarm_id"), *(alarm.get("also") or ())):
                return alarm
        return None

    def find(self, wait_s: float) -> tuple[dict[str, Any] | None, str]:
        """The open alarm the id names, or None and why it cannot be acknowledged (`already` set and no
        reason: it was acknowledged before)."""
        end = time.monotonic() + wait_s
        with self._cond:
            while self._status is None and self._cond.wait(max(0.0, end - time.monotonic())):
                pass
            if self._status is None:
                return None, (f"no status from hub {self.hub_id} within {wait_s:g} s (wrong hub id or prefix, or the "
                              "hub has never connected): cannot tell whether the id is an open alarm")
            grace = time.monotonic() + STATUS_GRACE_S  # the retained status may be older than a new alarm
            while self._listed() is None and self._listed("acknowledged_lately") is None \
                    and time.monotonic() < grace:
                self._cond.wait(max(0.0, grace - time.monotonic()))
            alarm, acked, status = self._listed(), self._listed("acknowledged_lately"), self._status
        if acked is not None and (alarm is None or alarm.get("acknowledged")):
            self.already = {**acked, **(alarm or {})}
            return None, ""
        if alarm is None:
            if status.get("state") == "offline" and "open_alarms" not in status:
                return None, f"hub {self.hub_id} is offline: its open alarms are not known"
            listed = [a for a in status.get("open_alarms") or [] if isinstance(a, dict)]
            ids = ", ".join(f"{alarm_label(str(a.get('type')), a)} [{a.get('alarm_id')}]" for a in listed) or "none"
            return None, f"{self.event_id} is not an open alarm of hub {self.hub_id}; open now: {ids}"
        if alarm.get("acknowledged"):  # before the hub kept `acknowledged_lately`, or acked long ago
            self.already = alarm
            return None, ""
        self._target = str(alarm.get("alarm_id"))
        return alarm, ""

    def confirmed(self, wait_s: float) -> dict[str, Any] | None:
        end = time.monotonic() + wait_s
        with self._cond:
            while self._confirmed is None and self._cond.wait(max(0.0, end - time.monotonic())):
                pass
            return self._confirmed


def already_line(alarm: dict[str, Any], event_id: str, hub_id: str, zone: tzinfo | None) -> str:
    """"已确认 already acknowledged (at 09:01, by 王芳): 紧急呼叫 … [id] on hub": nothing sent."""
    when = []
    # No time: a lasting alarm acked long ago, or a hub that does not send `acknowledged_lately`.
    with contextlib.suppress(KeyError, ValueError):
        when.append(f"at {datetime.fromisoformat(str(alarm['at'])).astimezone(zone):%H:%M}")
    if alarm.get("by"):
        when.append(f"by {alarm['by']}")
    said = f" ({', '.join(when)})" if when else ""
    return (f"已确认 already acknowledged{said}: {alarm_label(str(alarm.get('type')), alarm)} [{event_id}] on {hub_id}"
            " — 未重复发送 nothing sent again")
