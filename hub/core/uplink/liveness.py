"""Is the link to the broker alive, and is this hub alone with its client id?

`LinkWatch` notices a dead link (a NAT that forgot the connection, a Wi-Fi that went away without a
FIN) long before MQTT keepalive would (paho closes only after ~2 x keepalive_s):
- an urgent publish (a call, an alarm) with no PUBACK for `puback_timeout_s` sends a PINGREQ at once,
  unless a probe sent after it was answered already (bytes merely heard since it went out may have left
  the broker before it had the call: counting them let a link that died just after a call go unnoticed
  for half the keepalive, 30 s against the 12 s this promises);
- so does `keepalive_s / 2` of silence from the broker;
- no byte back within `ping_timeout_s` of that ping: the link is dead, the hub reconnects (and paho
  resends what was in flight, so every call still arrives).

`Takeovers` counts MQTT 5 "Session taken over" disconnects: another client connecting with this hub's
id. The hub then waits, longer each time, instead of taking the id back at once (two units with one id
used to take it from each other 116 times a minute).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DUPLICATE_AFTER = 2  # takeovers in a row before the hub reports a duplicate id
TAKEOVER_FIRST_S = 5.0
# While a call or an alarm waits for the broker, a reconnect is tried at least this often: a backoff
# grown over a long outage (reconnect_max_s, 60 s) would otherwise leave a call raised during it
# waiting up to a minute after the broker is back. Jittered like any delay; a broker restarting under
# a fleet sees only the units with a resident waiting try this often.
URGENT_RECONNECT_MAX_S = 5.0


class LinkWatch:
    def __init__(self, puback_timeout_s: float, ping_timeout_s: float, keepalive_s: float) -> None:
        self.puback_timeout_s = puback_timeout_s
        self.ping_timeout_s = ping_timeout_s
        self.idle_probe_s = keepalive_s / 2
        self.last_in = 0.0  # loop time the socket last had bytes for us
        self.urgent: dict[int, float] = {}  # mid of an urgent publish awaiting PUBACK -> when sent
        self.probe_at: float | None = None
        self.proven = float("-inf")  # when the last answered probe went out: the link carried all sent before
        self.on_change: Callable[[], None] | None = None  # a new deadline may be sooner: re-plan the tick

    def connected(self, now: float) -> None:
        self.last_in = now
        self.probe_at = None
        self.proven = float("-inf")  # the CONNACK came before paho resent anything
        # paho resends what was in flight on this new connection: their clocks start again.
        self.urgent = dict.fromkeys(self.urgent, now)

    def heard(self, now: float) -> None:
        self.last_in = now
        # `>=`: bytes read at the very loop time the probe went out still answer it (a clock that does not
        # move between the two, as on a virtual-time loop or a coarse clock, must not make a live link dead).
        if self.probe_at is not None and now >= self.probe_at:
            # the probe is answered (PINGRESP or anything else): not suspect now
            self.proven, self.probe_at = self.probe_at, None
            if self.on_change is not None:
                # Re-plan the sleeping tick now, while the loop is awake for this read: else it wakes
                # on its own at the answer's deadline only to find the probe answered.
                self.on_change()

    def sent(self, mid: int, now: float) -> None:
        self.urgent[mid] = now
        if self.on_change is not None:
            self.on_change()

    def done(self, mid: int) -> None:
        self.urgent.pop(mid, None)

    @property
    def awaiting(self) -> bool:
        """An urgent publish has no PUBACK yet."""
        return bool(self.urgent)

    def suspect(self, now: float) -> bool:
        """A probe unanswered for half its timeout, or an urgent publish overdue: not a link to call
        'online'. A live broker answers a probe in milliseconds; counting the link suspect from the moment
        the routine idle probe went out told a resident who pressed then "网络中断" on a working link
        (seen under load). A call pressed while a probe is out waits on its own PUBACK like any other."""
        oldest = min(self.urgent.values(), default=now)
        probing = self.probe_at is not None and now - self.probe_at >= self.ping_timeout_s / 2
        return probing or now - oldest >= self.puback_timeout_s

    def check(self, now: float) -> str | None:
        """'ping' when a probe should go out now, 'dead' when one went unanswered, else None."""
        if self.probe_at is not None:
            if self.last_in >= self.probe_at:
                self.proven, self.probe_at = self.probe_at, None  # answered (PINGRESP or anything else)
            elif now - self.probe_at >= self.ping_timeout_s:
                return "dead"
            else:
                return None
        oldest = min(self.urgent.values(), default=None)
        overdue = oldest is not None and now - oldest >= self.puback_timeout_s and self.proven < oldest
        if overdue or now - self.last_in >= self.idle_probe_s:
            self.probe_at = now
            return "ping"
        return None

    def next_due(self) -> float:
        """The loop time at which check() may next have something to do (the uplink sleeps until then)."""
        if self.probe_at is not None:
            return self.probe_at + self.ping_timeout_s
        due = self.last_in + self.idle_probe_s
        oldest = min(self.urgent.values(), default=None)
        if oldest is not None and self.proven < oldest:
            due = min(due, oldest + self.puback_timeout_s)
        return due


@dataclass
class Takeovers:
    backoff_max_s: float
    in_a_row: int = 0
    fault_id: str | None = None  # the fault.duplicate_id raised and not yet cleared
    detail: dict[str, object] = field(default_factory=dict)

    def taken_over(self, sign: str, waiting: bool, hub_id: str,
                   broker: str) -> tuple[float, str, dict[str, Any] | None]:
        """Another client took our session: (how long to stay away, the message for the installer,
        the fault.duplicate_id data if this takeover makes it a duplicate id)."""
        self.in_a_row += 1
        ceiling = min(self.backoff_max_s, TAKEOVER_FIRST_S * 2 ** (self.in_a_row - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        then = f"waiting {delay:.0f} s before connecting, not taking it back" if waiting else "will wait next time"
        message = (f"another device seems to use this hub's id {hub_id!r} ({sign}; {self.in_a_row} takeover(s) "
                   f"in a row); {then}")
        if not self.duplicate or self.fault_id is not None:
            return delay, message, None
        detail = f"{self.in_a_row} takeovers of client id {hub_id!r} at {broker}: two units share one [hub] id"
        self.fault_id = ""
        self.detail = {"detail": detail}
        return delay, message, {
            "client_id": hub_id, "takeovers": self.in_a_row, "backoff_s": round(delay, 1), "detail": detail,
            "remedy": "每台设备须有唯一的 [hub] id / give every unit its own [hub] id (hub provision); the other "
                      "unit logs the same fault"}

    @property
    def duplicate(self) -> bool:
        return self.in_a_row >= DUPLICATE_AFTER

    def held(self, connected_for: float) -> bool:
        """The connection has held long enough that the other unit would have taken it by now."""
        if connected_for >= 2 * self.backoff_max_s:
            self.in_a_row = 0
            return True
        return False


def tick_delay(watch: LinkWatch, takeovers: Takeovers, now: float, connected_at: float, keepalive_s: float,
               last_out: Any, stable_s: float | None) -> float:
    """Seconds until the connected link's tick has something to do: no 1 s loop, it sleeps between
    deadlines (a probe, an overdue PUBACK, paho's keepalive after `last_out` — paho's clock is
    time.monotonic, as the loop's —, the backoff reset after `stable_s`, a takeover count's reset); an
    urgent publish re-plans it through LinkWatch.on_change."""
    due = watch.next_due()
    due = min(due, last_out + keepalive_s if isinstance(last_out, float) else now + keepalive_s / 2)
    if stable_s is not None:
        due = min(due, connected_at + stable_s)
    if takeovers.fault_id is not None or takeovers.in_a_row:
        due = min(due, connected_at + 2 * takeovers.backoff_max_s)
    return max(0.05, due - now)


def reconnect_delay(failures: int, min_s: float, max_s: float, urgent: bool) -> float:
    """Exponential backoff with full jitter, from min_s to max_s (URGENT_RECONNECT_MAX_S at most while a
    call or an alarm waits)."""
    if urgent:
        max_s = min(max_s, max(URGENT_RECONNECT_MAX_S, min_s))
    ceiling = min(max_s, min_s * 2 ** min(failures, 64))
    return random.uniform(min_s, max(ceiling, min_s))
