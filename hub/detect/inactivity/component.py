"""Inactivity component: feeds the activity stream to the detector, asks aloud, then alarm.inactivity.

Every activity (PIR, presses, BLE readings, radar presence, doors) goes to the pure detector
(hub.detect.inactivity.detector); a named task ticks it with ctx.clock. A "check" is asked
("您还好吗？没事请按一下按钮…", a question: hub.speech.questions), `recheck_after_s` later again, louder
("…再没有回应，我们就通知社区"); any press or movement within `check_wait_s` of the first answers;
otherwise `alarm.inactivity` goes out with the gap, the learned expectation and the last activity.
A press that answers raises no call (unless held 2 s, or pressed again within 5 s: that still calls).
Away: `cmd/away` / `cmd/home`, or a long press of the away button. The learned history and the
operator's verdicts persist in state_dir (store.py; verdicts arrive through feedback_desk.py); the
question is asking.py, wall-clock steps clock_steps.py.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.config.loader import Config, ConfigError
from hub.core.activity import Activity
from hub.core.clock import zone_named
from hub.core.context import Hardware, HubContext
from hub.core.ticks import sleep_aligned
from hub.detect.inactivity.asking import Asking
from hub.detect.inactivity.clock_steps import ClockSteps
from hub.detect.inactivity.decisions import Decision, alarm_data
from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.feedback import FeedbackBook
from hub.detect.inactivity.feedback_desk import FeedbackDesk
from hub.detect.inactivity.params import Params
from hub.detect.inactivity.rules import rules_from_config
from hub.detect.inactivity.store import Store

log = logging.getLogger(__name__)

# The detector reads what an activity means from event-log style names (`<KIND>-<place>-<name>:ON`,
# hub.detect.inactivity.kinds.source_kind), the convention its rules were measured with; live
# sources that are the same kind of evidence are named that way, so the hub applies the same rules.
LIVE_SOURCES = {
    "pir": "M-home-pir:ON",  # motion seen
    "radar": "M-home-radar:ON",  # the radar's presence/moving report is motion too
}

SAVE_EVERY_S = 600.0  # history is a convenience: losing ten minutes of it costs nothing


class InactivityMonitor:
    name = "inactivity"

    def __init__(self, config: Config, params: Params) -> None:
        section = config["inactivity"]
        self.params = params
        self.tick_s: float = section["tick_s"]
        self.away_pin: int | None = section["away_button_pin"]
        self.away_hold_s: float = section["away_hold_s"]
        self.call_pins = {b["pin"] for b in config["buttons"]}
        self.zone = zone_named(config["hub"]["timezone"])
        self.store = Store(config.state_dir)
        self.path = self.store.path
        self.rules = rules_from_config(config["inactivity_rules"])
        self.feedback = FeedbackBook(config["hub"]["id"])
        self.detector: InactivityDetector | None = None
        self._ctx: HubContext | None = None
        self._queue: asyncio.Queue[Decision | tuple[str, str]] = asyncio.Queue()
        self._bank: Any = None
        self._dirty = False
        self._closed = False
        self._steps = ClockSteps()  # wall-clock steps seen (any thread) not yet applied (loop)
        self._asking = Asking(section["recheck_volume"])  # "您还好吗？" while it waits for an answer

    # ---- lifecycle ----------------------------------------------------------------------------
    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        now = ctx.clock.now()
        self.detector = InactivityDetector(self.params, tz=self.zone or now.tzinfo or ZoneInfo("UTC"),
                                           rules=self.rules)
        await asyncio.to_thread(self.store.load, self.detector, self.feedback)  # verdicts, then history
        self.detector.scale = self.feedback.scale
        self.detector.restart(now)
        ctx.clock.on_step(self._steps.note)  # the plan (wall time) moves with a step, applied on the loop
        ctx.activity.subscribe(self._on_activity)
        ctx.on_button(self._on_button)
        ctx.add_platform_command("away", self._cmd_away)
        ctx.add_platform_command("home", self._cmd_home)
        desk = FeedbackDesk(self.feedback, ctx.clock.now, self._feedback_changed, ctx.raise_event, ctx.clock.monotonic)
        ctx.add_platform_command("feedback", desk.feedback)
        ctx.add_platform_command("feedback_revert", desk.revert)
        ctx.add_control_command("inactivity.feedback", desk.control)  # `hub feedback`
        if self.away_pin is not None and self.away_pin not in self.call_pins:
            from hub.core.buttons import ButtonBank

            self._bank = ButtonBank(ctx.hardware.gpio, [{"pin": self.away_pin, "bounce_ms": 30}],
                                    ctx.clock, self.away_hold_s, self._away_press, lambda pin, held: None,
                                    lambda pin: self._toggle_away("button"))
        ctx.spawn("inactivity.decide", self._worker())
        ctx.spawn("inactivity.tick", self._ticker())
        self._publish_status()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._asking.close()
        if self._bank is not None:
            self._bank.close()
        if self.detector is not None and self._dirty:
            await asyncio.to_thread(self._save)

    # ---- inputs -------------------------------------------------------------------------------
    def _on_activity(self, activity: Activity) -> None:
        det = self._apply_steps()
        source = LIVE_SOURCES.get(activity.source, activity.source)
        self._enqueue(det.note(activity.ts, source, activity.exit_door))
        self._dirty = True
        self._publish_status()  # presumed out/in and the alarm time move with every activity

    def _on_button(self, pin: int, action: str) -> None:
        # Presses already reach the activity stream (hub.calls.manager); a hold of the away button toggles.
        if action == "hold" and pin == self.away_pin:
            self._toggle_away("button")

    def _away_press(self, pin: int, ts: datetime) -> None:
        self._require_ctx().activity.note(f"button:{pin}", ts)

    async def _cmd_away(self, body: dict[str, Any]) -> None:
        self._set_away(True, "platform")

    async def _cmd_home(self, body: dict[str, Any]) -> None:
        self._set_away(False, "platform")

    async def _feedback_changed(self, scale: float) -> None:
        self._det().scale = scale
        await asyncio.to_thread(self.store.save_feedback, self.feedback)
        self._publish_status()

    def _toggle_away(self, by: str) -> None:
        self._set_away(not self._det().away, by)

    def _set_away(self, on: bool, by: str) -> None:
        now = self._require_ctx().clock.now()
        det = self._apply_steps()
        if det.away == on:
            log.info("away mode already %s (%s)", "on" if on else "off", by)
            return
        det.set_away(on, now)
        self._dirty = True
        self._queue.put_nowait(("away.set" if on else "away.cleared", by))

    async def tick(self) -> int:
        """Look at the clock now and act on what fell due (the sim verb calls this after advancing)."""
        ctx = self._require_ctx()
        now = ctx.clock.now()  # sees a step, if there was one ...
        decisions = self._apply_steps().tick(now)  # ... and shifts the plan before it is looked at
        self._enqueue(decisions)
        await self._queue.join()
        return len(decisions)

    def _apply_steps(self) -> InactivityDetector:
        det = self._det()
        seconds = self._steps.take()
        if seconds:
            log.warning("inactivity: wall clock stepped %+.0f s; the running gap keeps its elapsed time",
                        seconds)
            det.shift(timedelta(seconds=seconds))
            self._dirty = True
        return det

    # ---- outputs ------------------------------------------------------------------------------
    def _enqueue(self, decisions: list[Decision]) -> None:
        for d in decisions:
            self._queue.put_nowait(d)

    async def _worker(self) -> None:
        """Acts on decisions in order, one at a time: the check is always spoken before the alarm."""
        while True:
            item = await self._queue.get()
            try:
                await self._act(item)
            except Exception:
                log.exception("inactivity: acting on %r failed", item)
            finally:
                self._queue.task_done()

    async def _act(self, item: Decision | tuple[str, str]) -> None:
        ctx = self._require_ctx()
        if isinstance(item, tuple):
            kind, by = item
            await ctx.raise_event(kind, {"by": by})
            ctx.say("inactivity_away_set" if kind == "away.set" else "inactivity_home")
        elif item.kind in ("check", "recheck"):  # the second time louder (and after the chime, as the first)
            again = item.kind == "recheck"
            log.info("inactivity %s: %.0f min without activity (limit %.0f min)", item.kind,
                     item.gap_s / 60, item.limit_s / 60)
            await self._asking.ask(ctx, again)
        elif item.kind == "answered":
            self._asking.close()
            ctx.say("inactivity_ok")
            ctx.feedback("idle")
        elif item.kind == "alarm":
            self._asking.close()  # once the wait is over a press is a call again
            data = alarm_data(item, self.params.check_wait_s)
            event = await ctx.alarms.open("alarm.inactivity", data, key="inactivity", ts=item.at,
                                          facts={"reason": data["reason"], "gap_min": data["gap_min"]})
            self.feedback.record_alarm(event.id, {**data, "hour": item.at.astimezone(self._det().tz).hour,
                                                  "scale": self._det().scale})
            ctx.feedback("alarm")
            ctx.say("inactivity_alarm", about=event.id)  # "已通知社区" only once the broker has it
            # bookkeeping for learning from the operator's verdict: after the buzzer, not before (an fsync
            # on a slow or failing card held the resident's alarm back)
            await asyncio.to_thread(self.store.save_feedback, self.feedback)
        elif item.kind in ("visitor_arrived", "visitor_left"):  # checks, alarms and the radar pause
            log.info("inactivity: %s at %s (%s)", item.kind.replace("_", " "), item.at, item.last_source)
        elif item.kind == "away_cleared":
            await ctx.raise_event("away.cleared", {"by": "activity"}, ts=item.at)
            ctx.say("inactivity_home")
        self._publish_status()

    def visitor_present(self) -> bool:
        """Someone else is in the flat (visitors.py); the fall component asks before a radar countdown."""
        return self.detector is not None and self.detector.visitors.present

    def status(self) -> dict[str, Any]:
        det = self._det()
        alarm_at = det.next_alarm_at()
        now = self._require_ctx().clock.now()
        return {
            "away": det.away, "presumed_out": det.out, "asking": det.asking, "visitor": det.visitors.present,
            "question": det.question,  # which question waits for an answer: 1, 2 (the louder one) or None
            "last_activity": det.last_ts.isoformat(timespec="seconds") if det.last_ts else None,
            "alarm_due": alarm_at.isoformat(timespec="seconds") if alarm_at else None,
            "learned_gaps": det.sample_count(), "feedback_scale": det.scale,
            "learned": det.routine.progress(now),
            # The ceiling on questions (pacing.py): checks asked lately, and whether early ones pause.
            "questions_asked": det.routine.pace.count(now, det.routine.days_learned(now)),
            "early_checks_paused": det.routine.pace.over(now, det.routine.days_learned(now)),
        }

    def _publish_status(self) -> None:
        if self.detector is not None and self._ctx is not None:
            self._ctx.set_status("inactivity", self.status())

    async def _ticker(self) -> None:
        last_save = self._require_ctx().clock.monotonic()
        while True:
            await self.tick()
            mono = self._require_ctx().clock.monotonic()
            if self._dirty and mono - last_save >= SAVE_EVERY_S:
                last_save = mono
                await asyncio.to_thread(self._save)
            await sleep_aligned(self.tick_s)  # on the shared grid (hub.core.ticks)

    # ---- persistence (store.py) -----------------------------------------------------------------
    def _save(self) -> None:
        if self.store.save(self._det()):
            self._dirty = False

    def _det(self) -> InactivityDetector:
        assert self.detector is not None, "inactivity component not started"
        return self.detector

    def _require_ctx(self) -> HubContext:
        assert self._ctx is not None, "inactivity component not started"
        return self._ctx


def build(config: Config, hardware: Hardware) -> InactivityMonitor | None:
    section = config["inactivity"]
    if not section["enabled"]:
        return None
    try:
        params = Params.from_config(section)
    except ValueError as exc:
        raise ConfigError(config.path, "inactivity", str(exc)) from None
    if params.day_max_h * 3600 + params.check_wait_s > 12 * 3600 or \
            params.night_max_h * 3600 + params.check_wait_s > 12 * 3600:
        log.warning("inactivity: day_max_h/night_max_h + check_wait_s exceed 12 h; detection may take longer")
    if params.recheck_after_s and params.recheck_after_s >= params.check_wait_s:
        log.warning("inactivity: recheck_after_s is not below check_wait_s: the check is asked once")
    return InactivityMonitor(config, params)

