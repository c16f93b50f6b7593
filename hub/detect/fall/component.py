"""Fall handling: worn-sensor detector and fall radar feed one "suspected fall" path, then a countdown.

On a suspected fall the hub asks aloud "您摔倒了吗？没事请按一下按钮，需要帮助请按住按钮" (a question,
hub.speech.questions), louder each time; `countdown_s` runs from the END of the first question, and
each repeat comes `prompt_every_s` after the previous one ends. A press of any call button answers:
`fall.cancelled` (information for the platform) and no call; a press held 2 s, or a second press
within 5 s, still raises that button's call. Silence: `alarm.fall` with the countdown's outcome,
and "没有收到回应，已通知社区…" at once. Radar presence and movement are noted as activity for inactivity.

A fall the wearer got up from within the post-fall phase (the detector's `recovered`) is reported, not
alarmed: `fall.recovered` (information for the platform) and once "您刚才是不是摔倒了？需要帮助请按住按钮",
a question whose answer, a press or a hold, raises that button's call (`passthrough`); no answer within
`RECOVERED_LISTEN_S`: nothing more. Lying still again within two minutes (the detector's `collapse`)
is a suspected fall like any other: the countdown, then the alarm.

Which parts are fitted: the config's `radar_port` / `wearable_address`, on a real board and in
simulation alike ('' = none). A hub without a radar never opens a UART that may be Bluetooth's, and one
without either part never imports this module (`GATES` in hub/core/components.py): no bleak, no serial,
no detector. `hub run --simulate` simulates the parts its config names (hub.detect.fall.sim).
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.ticks import sleep_aligned

if TYPE_CHECKING:
    import numpy as np

    from hub.detect.fall.detector import Assessment, FallDetector

log = logging.getLogger(__name__)

AXIS_VECTORS = {"x": (1.0, 0.0, 0.0), "-x": (-1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "-y": (0.0, -1.0, 0.0),
                "z": (0.0, 0.0, 1.0), "-z": (0.0, 0.0, -1.0)}
STATUS_EVERY_S = 10.0
RECOVERED_LISTEN_S = 30.0  # after "您刚才是不是摔倒了？" a press within this answers it (and calls)
RADAR_ACTIVITY_EVERY_S = 10.0  # radar reports movement every second; the activity stream needs less


class FallComponent:
    name = "fall"

    def __init__(self, config: Config, radar_port: str | None = None, wearable_address: str | None = None) -> None:
        self.cfg = config["fall"]
        self.radar_port: str = self.cfg["radar_port"] if radar_port is None else radar_port
        self.wearable_address: str = self.cfg["wearable_address"] if wearable_address is None else wearable_address
        # The detector (and numpy under it, ~17 MB) loads with the first worn-sensor samples, so a
        # home without a wearable, or one whose wearable is off, never pays for it.
        self.detector: FallDetector | None = None
        self._batch: list[np.ndarray] = []
        self._ctx: HubContext | None = None
        self._countdown: asyncio.Task[None] | None = None
        self._suspect_waiters: list[asyncio.Future[dict[str, Any]]] = []
        self._outcome_waiters: list[asyncio.Future[dict[str, Any]]] = []
        self._last_radar_activity = -math.inf
        self._beds: set[str] = set()  # bed mats occupied now
        self.radar: Any = None
        self.wearable: Any = None

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        ctx.activity.subscribe(self._on_activity)
        if self.radar_port:
            from sensors.radar import RadarSensor

            self.radar = RadarSensor(ctx.hardware.open_serial, self.radar_port, self.cfg["radar_baud"],
                                     self._on_radar)
            ctx.spawn("fall.radar", self.radar.run())
        if self.wearable_address:
            from sensors.wearable import WearableSensor

            self.wearable = WearableSensor(self.wearable_address, self.cfg["wearable_rate_hz"],
                                           self.on_samples, ctx.hardware.ble_client_backend)
            ctx.spawn("fall.wearable", self.wearable.run())
        self._publish_status()
        ctx.spawn("fall.status", self._status_loop())

    # --- inputs ----------------------------------------------------------------------------------
    def on_samples(self, acc: np.ndarray, new_stream: bool) -> None:
        """Worn-sensor samples (N, 3) in g, on the loop; pushed in 0.2 s batches (per-call overhead
        dominates one-sample pushes, and 0.2 s is nothing next to the 3 s post-impact window)."""
        if new_stream or self.detector is None:
            self.detector = self._new_detector()
            self._batch.clear()
        self._batch.append(acc)
        if sum(len(a) for a in self._batch) < self.cfg["wearable_rate_hz"] // 5:
            return
        import numpy as np

        batch = np.vstack(self._batch)
        self._batch.clear()
        for assessment in self.detector.push(batch):
            if assessment.fall and self._in_bed():
                # Lying down on the bed, not on the floor: the bed mat has been occupied through the
                # post-fall phase (a fall out of bed empties the mat first).
                log.info("worn sensor: lying down %s, bed mat occupied: not a fall", _detector_info(assessment))
            elif assessment.fall:
                self.suspect("wearable", _detector_info(assessment))
            elif assessment.recovered and not self._in_bed() and not self.counting_down:
                self._require_ctx().spawn("fall.recovered", self._report_recovered(_recovered_info(assessment)))

    def _new_detector(self) -> FallDetector:
        from hub.detect.fall.detector import FallDetector, FallParams

        params = FallParams(trigger_g=self.cfg["trigger_g"], decide_after_s=self.cfg["decide_after_s"],
                            threshold=self.cfg["threshold"], up_axis=AXIS_VECTORS[self.cfg["up_axis"]])
        return FallDetector(self.cfg["wearable_rate_hz"], params)

    def _on_activity(self, activity: Any) -> None:
        """Bed mats (`P-bed-<name>:ON|OFF`, hub.detect.contacts.inputs): which are occupied now."""
        name, _, state = activity.source.rpartition(":")
        if name.startswith("P-bed-"):
            (self._beds.add if state == "ON" else self._beds.discard)(name)

    def _in_bed(self) -> bool:
        return bool(self._beds)

    def _on_radar(self, obs: Any) -> None:
        ctx = self._require_ctx()
        if obs.kind == "fall" and obs.active:
            visits = ctx.component("inactivity")  # its visitor_present(): someone else is there to help
            if visits is not None and getattr(visits, "visitor_present", lambda: False)():
                log.warning("fall radar report while a visitor is present: no countdown")
                return
            self.suspect("radar", {"report": "fall"})
        elif obs.kind in ("presence", "moving") and obs.active:
            now = ctx.clock.monotonic()
            if now - self._last_radar_activity >= RADAR_ACTIVITY_EVERY_S:
                self._last_radar_activity = now
                ctx.activity.note("radar", ctx.clock.now())

    # --- the one suspected-fall path ---------------------------------------------------------------
    def suspect(self, source: str, info: dict[str, Any]) -> bool:
        """Start the countdown unless one is running (a second report is the same fall). True if started."""
        ctx = self._require_ctx()
        if self._countdown is not None and not self._countdown.done():
            log.info("fall suspected again by %s during the countdown: same fall", source)
            return False
        seen = ctx.clock.now()
        log.warning("suspected fall (%s) %s", source, info)
        self._countdown = ctx.spawn("fall.countdown", self._count_down(source, info, seen))
        _resolve(self._suspect_waiters, {"source": source, "suspected_at": seen.isoformat(), **info})
        return True

    async def _count_down(self, source: str, info: dict[str, Any], seen: datetime) -> None:
        ctx = self._require_ctx()
        total = float(self.cfg["countdown_s"])
        pause = min(float(self.cfg["prompt_every_s"]), total)
        steps = max(1, math.ceil(total / pause - 1e-9))
        v0, v1 = self.cfg["volume_start"], self.cfg["volume_end"]
        # The resident's seconds are measured on the loop's clock, the one the waits below run on:
        # ctx.clock can be moved (`hub sim inactivity` jumps it by hours) and must not cut the countdown
        # short. Stamps (suspected_at, the events' ts) still come from ctx.clock.
        loop = asyncio.get_running_loop()
        start = loop.time()
        ctx.feedback("alarm")
        ctx.set_status("fall_countdown", {"source": source, "since": seen.isoformat(), "countdown_s": total}, now=True)
        question = ctx.ask("fall_check")
        prompts = 1
        try:
            # The countdown starts when the question has been heard; each repeat comes `pause` seconds
            # after the previous one ENDS, and one still speaking when the time is up is cut off.
            answered = await question.ask(volume=v0, timeout=total)  # bounded: a stuck speaker never stalls it
            deadline = loop.time() + total
            while not answered:
                if await question.wait(min(pause, deadline - loop.time())) or loop.time() >= deadline:
                    break
                volume = round(v0 + (v1 - v0) * min(1.0, prompts / (steps - 1) if steps > 1 else 1.0))
                prompts += 1
                answered = await question.ask(volume=volume, timeout=deadline - loop.time())
            answered = question.answered.is_set()
            question.close()  # before speaking the outcome, which must not wait behind the question
            waited = round(loop.time() - start, 1)
            base = {"source": source, "suspected_at": _iso(seen), "countdown_s": total, "prompts": prompts,
                    **info}
            if answered:
                data = {**base, "cancelled_after_s": waited, "button": question.pin}
                event = await ctx.raise_event("fall.cancelled", data, ts=ctx.clock.now())
                ctx.say("fall_cancelled")
                ctx.feedback("idle")
                _resolve(self._outcome_waiters, {"outcome": "cancelled", "event_id": event.id})
            else:
                data = {**base, "outcome": "no_response", "waited_s": waited}
                event = await ctx.alarms.open("alarm.fall", data, key="fall", ts=seen, facts={"source": source})
                ctx.say("fall_alarm", about=event.id)  # "已通知社区" only once the broker has it
                _resolve(self._outcome_waiters, {"outcome": "alarm", "event_id": event.id})
        finally:
            question.close()
            ctx.set_status("fall_countdown", None, now=True)

    async def _report_recovered(self, info: dict[str, Any]) -> None:
        """fall.recovered, then ask once; a press answers and raises its call, silence: nothing more."""
        ctx = self._require_ctx()
        log.warning("fall the wearer got up from %s", info)
        event = await ctx.raise_event("fall.recovered", {"source": "wearable", **info}, ts=ctx.clock.now())
        _resolve(self._outcome_waiters, {"outcome": "recovered", "event_id": event.id})
        question = ctx.ask("fall_recovered_check")
        question.passthrough = True
        try:
            if not await question.ask(timeout=RECOVERED_LISTEN_S):
                await question.wait(RECOVERED_LISTEN_S)
        finally:
            question.close()

    # --- for simulation, tests and status ---------------------------------------------------------
    def wait_suspected(self) -> asyncio.Future[dict[str, Any]]:
        return _waiter(self._suspect_waiters)

    def wait_outcome(self) -> asyncio.Future[dict[str, Any]]:
        return _waiter(self._outcome_waiters)

    @property
    def counting_down(self) -> bool:
        return self._countdown is not None and not self._countdown.done()

    def _publish_status(self) -> None:
        ctx = self._require_ctx()
        ctx.set_status("fall", {"radar": self.radar.stats() if self.radar else None,
                                "wearable": self.wearable.stats() if self.wearable else None})

    async def _status_loop(self) -> None:
        while True:  # parser counters and link state for `hub status` / the retained status
            await sleep_aligned(STATUS_EVERY_S)  # on the shared grid (hub.core.ticks)
            self._publish_status()

    def _require_ctx(self) -> HubContext:
        if self._ctx is None:
            raise RuntimeError("FallComponent used before start()")
        return self._ctx

    async def close(self) -> None:
        for part in (self.radar, self.wearable):
            if part is not None:
                part.close()
        if self._countdown is not None and not self._countdown.done():
            self._countdown.cancel()


def _detector_info(a: Assessment) -> dict[str, Any]:
    return {"score": round(a.score, 2), "peak_g": round(math.exp(a.features[0]), 2),
            "rotation_deg": round(a.features[1] * 90.0), "kind": a.kind,
            "descent_s": None if a.descent_s is None else round(a.descent_s, 1),
            "decided_after_impact_s": round(a.t - a.impact_t, 2)}


def _recovered_info(a: Assessment) -> dict[str, Any]:
    """The landing of a fall the wearer got up from: how it went, how hard, how fast."""
    landing = a.landing or a.features
    return {"kind": a.kind, "impact_g": round(math.exp(a.features[0]), 2),
            "descent_s": None if a.descent_s is None else round(a.descent_s, 1),
            "rotation_deg": round(landing[1] * 90.0),
            "decided_after_impact_s": round(a.t - a.impact_t, 2)}


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds")


def _waiter(waiters: list[asyncio.Future[dict[str, Any]]]) -> asyncio.Future[dict[str, Any]]:
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    waiters.append(future)
    return future


def _resolve(waiters: list[asyncio.Future[dict[str, Any]]], value: dict[str, Any]) -> None:
    while waiters:
        future = waiters.pop()
        if not future.done():
            future.set_result(value)


def fitted(config: Config) -> tuple[str, str]:
    """(radar port, wearable address) the config names; '' = not fitted."""
    cfg = config["fall"]
    return cfg["radar_port"], cfg["wearable_address"]


def build(config: Config, hardware: Hardware) -> FallComponent | None:
    if not config.get("fall"):
        return None
    radar_port, wearable_address = fitted(config)
    if not (radar_port or wearable_address):
        return None  # neither part fitted
    return FallComponent(config, radar_port, wearable_address)
