"""The resident's side of the hub, with the hub's real code in-process on a virtual-time loop
(tests/virtual_time.py), a real mosquitto, real espeak-ng WAVs and a player that takes each WAV's
real length (hub.speech.player.TimedPlayer). What the hub says is its speech queue's record: prompt
key, text, start and end on the loop's clock; what it sends is seen as each event is committed.

    with run_scenario(tmp_path, broker) as s: s.run(body)   # body(s) is a coroutine function
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support import PREFIX, Broker, Subscriber
from virtual_time import LoopClock, VirtualTimeLoop

from hub.config.loader import Config, validate
from hub.core.app import Hub
from hub.core.events import Event
from hub.core.simulation import simulated_hardware
from hub.speech.player import TimedPlayer
from hub.speech.queue import CHIME_AFTER_IDLE_S, IMPORTANT, level_of

HUB_ID = "t-voice"
START = datetime(2025, 3, 4, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai: the inactivity routine's daytime


class Scenario:
    def __init__(self, tmp: Path, broker: Broker, **sections: Any) -> None:
        """`sections`: config tables merged into the defaults; `buttons=[...]` replaces the buttons."""
        self.tmp, self.broker = tmp, broker
        self.hub_id = str(sections.pop("hub_id", HUB_ID))
        raw: dict[str, Any] = {
            "hub": {"id": self.hub_id, "state_dir": str(tmp / "state"), "timezone": "Asia/Shanghai"},
            "mqtt": {"host": "127.0.0.1", "port": broker.port, "reconnect_min_s": 0.1, "reconnect_max_s": 1.0},
            "buttons": [{"pin": 17, "kind": "emergency"}, {"pin": 27, "kind": "health"}],
        }
        for name, table in sections.items():
            raw[name] = table if isinstance(table, list) else {**raw.get(name, {}), **table}
        self.config = Config(tmp / "hub.toml", validate(raw))
        self.events: list[tuple[float, Event]] = []
        self.delivered: dict[str, float] = {}  # event id -> when its PUBACK came (ctx.on_delivered)
        self.notes: list[tuple[float, str]] = []
        self._waiters: list[tuple[Callable[[Event], bool], asyncio.Future[Event]]] = []
        self.sub = Subscriber(broker.port, f"{PREFIX}/{self.hub_id}/#")
        self.loop: VirtualTimeLoop
        self.hub: Hub
        self.broker_up = True
        self._due_since: float | None = None
        self.held_at_power_on: set[int] = set()  # buttons already down when the hub starts

    # --- running ---------------------------------------------------------------------------------
    def run(self, body: Callable[[Scenario], Awaitable[None]], timeout_real_s: float = 90,
            virtual_s: float = 3600) -> None:
        with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
            self.loop = runner.get_loop()  # type: ignore[assignment]
            runner.run(asyncio.wait_for(self._main(body), virtual_s))  # virtual seconds; pytest-timeout is real

    async def _main(self, body: Callable[[Scenario], Awaitable[None]]) -> None:
        hardware = simulated_hardware()
        for pin in self.held_at_power_on:
            hardware.world.gpio.drive(pin, 0)  # pulled up, so down is low; no edge: nobody has the line yet
        self.hub = Hub(self.config, hardware, clock=LoopClock(self.loop, START), player=TimedPlayer())
        self.hub.on_event(self._on_event)
        self.hub.on_delivered(self._delivered)
        task = asyncio.create_task(self.hub.run(), name="hub")
        self.loop.hold = self.holds_time
        with self.loop.real_time():  # connecting takes real time: no timer may fire early
            while self.hub.uplink is None or self.hub.control is None or self.hub.control.path is None:
                await asyncio.to_thread(time.sleep, 0.01)
            await self.hub.uplink.connected.wait()
        self.t0 = self.loop.time()
        try:
            await body(self)
        finally:
            self.hub.stop()
            await task
            self.sub.close()

    def _delivered(self, event_id: str) -> None:
        self.delivered.setdefault(event_id, self.loop.time())

    def holds_time(self) -> bool:
        """Virtual time waits for the broker's reply (`_puback_due`) and for an edge on its way from the
        GPIO chip model's alert thread (a press's bounce, a PIR's debounce period) to its callback."""
        return self._puback_due() or bool(self.hub.hardware.world.gpio.busy())

    def _puback_due(self) -> bool:
        """A live broker's PUBACK, or the PINGRESP to the hub's idle probe, is on its way: virtual time waits
        for it (2 real seconds at most). Without the probe's hold, five virtual seconds could pass in real
        milliseconds and a live link be declared dead (the resident then hears the offline wording)."""
        up = self.hub.uplink
        waiting = up is not None and (up.watch.awaiting or up.watch.probe_at is not None)
        if not (self.broker_up and up is not None and up.connected.is_set() and waiting):
            self._due_since = None
            return False
        now = time.monotonic()
        self._due_since = self._due_since or now
        return now - self._due_since < 2.0

    def _on_event(self, event: Event) -> None:
        self.events.append((self.loop.time(), event))
        for waiter in [w for w in self._waiters if w[0](event)]:
            self._waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result(event)

    # --- the resident and the platform -------------------------------------------------------------
    async def sim(self, verb: str, *argv: str) -> dict[str, Any]:
        return await self.hub._control_sim({"verb": verb, "argv": list(argv)})

    async def press(self, pin: int, hold: float | None = None) -> dict[str, Any]:
        self.note(f"the resident presses button {pin}" + (f" and holds it {hold:g} s" if hold else ""))
        return await self.sim("press", "--button", str(pin), *(["--hold", str(hold)] if hold else []))

    async def release(self, pin: int) -> None:
        """The resident lets go of a button held since power-on (`held_at_power_on`)."""
        self.note(f"the resident lets go of button {pin}")
        self.hub.hardware.world.gpio.drive(pin, 1)
        await asyncio.sleep(0.2)

    def note(self, text: str) -> None:
        """Something happening in the room, for the markdown transcript."""
        self.notes.append((round(self.loop.time() - self.t0, 3), text))

    async def event(self, event_type: str, timeout: float = 120, **data: Any) -> Event:
        """The first committed event of this type (and data), waiting for it if need be."""
        def match(e: Event) -> bool:
            return e.type == event_type and all(e.data.get(k) == v for k, v in data.items())
        seen = next((e for _, e in self.events if match(e)), None)
        if seen is not None:
            return seen
        future: asyncio.Future[Event] = self.loop.create_future()
        self._waiters.append((match, future))
        return await asyncio.wait_for(future, timeout)

    async def ack(self, event_id: str, by: str = "王芳") -> None:
        """The duty operator acknowledges through the real broker (`cmd/ack`); returns once the hub has
        committed `call.acknowledged`. The clock follows real time while the message travels."""
        self.note(f"the duty operator acknowledges (`cmd/ack` by {by})")
        with self.loop.real_time():
            await asyncio.to_thread(self.sub.publish, f"{PREFIX}/{self.hub_id}/cmd/ack",
                                    json.dumps({"event_id": event_id, "by": by}))
            await self.event("call.acknowledged", call_id=event_id)

    async def heard(self, key: str, count: int = 1, timeout: float = 120) -> dict[str, Any]:
        """Wait (virtual time) until `key` has been spoken `count` times; its last record."""
        end = self.loop.time() + timeout
        while self.loop.time() < end:
            done = [u for u in self.spoken() if u["key"] == key and "interrupted" not in u]
            if len(done) >= count:
                return done[count - 1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"{key} not spoken {count}x; spoken: {[u['key'] for u in self.spoken()]}")

    async def speaking(self, key: str, timeout: float = 120) -> None:
        """Wait (virtual time) until `key` is the prompt being said (its chime, or its words)."""
        end = self.loop.time() + timeout
        speech = self.hub.speech
        assert speech is not None
        while self.loop.time() < end:
            if speech._current is not None and speech._current.key == key:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{key} never spoken; spoken: {[u['key'] for u in self.spoken()]}")

    async def broker_down(self) -> None:
        self.broker_up = False
        with self.loop.real_time():
            await asyncio.to_thread(self.broker.stop)
            while self.hub.online:
                await asyncio.to_thread(time.sleep, 0.01)

    async def broker_back(self, delivered: str) -> None:
        """Restart the broker; return once the event `delivered` (its id) has reached the subscriber.
        The clock follows real time meanwhile: reconnecting takes back-off sleeps and round trips."""
        await asyncio.to_thread(self.broker.start)
        self.broker_up = True
        with self.loop.real_time():
            for _ in range(3000):
                if any(isinstance(m[2], dict) and m[2].get("id") == delivered for m in list(self.sub.messages)):
                    return
                await asyncio.sleep(0.01)
        raise AssertionError("the saved call never reached the platform")

    async def quiet(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    # --- what happened -----------------------------------------------------------------------------
    def spoken(self) -> list[dict[str, Any]]:
        assert self.hub.speech is not None
        return [{**u, "start": round(u["start"] - self.t0, 3), "end": round(u["end"] - self.t0, 3)}
                for u in self.hub.speech.recent()]

    def sent(self) -> list[tuple[float, str]]:
        """Events the resident's story is about (not periodic telemetry, not readings), with their time."""
        return [(round(t - self.t0, 3), e.type) for t, e in self.events
                if not e.type.startswith(("telemetry.", "system.", "measurement."))]

    def transcript(self) -> list[tuple[str, str]]:
        """Prompts (with their clause-level cuts) and events in time order: ("say", key) / ("event", type)."""
        rows = [(u["start"], 1, ("say", u["key"])) for u in self.spoken()]
        rows += [(t, 0, ("event", kind)) for t, kind in self.sent()]
        return [r[2] for r in sorted(rows, key=lambda r: (r[0], r[1]))]

    def markdown(self, title: str, story: str) -> str:
        lines = [f"# {title}", "", story, "",
                 "| time (s) | | prompt / event | what the resident hears |", "|---:|---|---|---|"]
        rows = [(u["start"], 1, f"{u['start']:.1f}–{u['end']:.1f}", "🔊", f"`{u['key']}`",
                 u["text"] + (" *(interrupted, resumes later)*" if u.get("interrupted") else "")
                 + (" *(cut short)*" if u.get("cut") or u.get("cancelled") else ""))
                for u in self.spoken()]
        rows += [(t, 0, f"{t:.1f}", "📡", f"`{kind}`", "event committed, on its way to the platform")
                 for t, kind in self.sent()]
        rows += [(t, -1, f"{t:.1f}", "👤", "", text) for t, text in self.notes]
        for row in sorted(rows, key=lambda r: (r[0], r[1])):
            lines.append(f"| {row[2]} | {row[3]} | {row[4]} | {row[5]} |")
        return "\n".join(lines) + "\n"


def assert_chimes(spoken: list[dict[str, Any]]) -> None:
    """A chime comes right before an IMPORTANT or URGENT prompt when the unit was silent for
    CHIME_AFTER_IDLE_S, or when the prompt broke into another one; never otherwise."""
    for i, u in enumerate(spoken):
        if u["key"] == "chime":
            assert i + 1 < len(spoken) and level_of(spoken[i + 1]["key"]) >= IMPORTANT, spoken[i:i + 2]
            continue
        chimed = i > 0 and spoken[i - 1]["key"] == "chime"
        before = spoken[i - 2 if chimed else i - 1] if i >= (2 if chimed else 1) else None
        idle = before is None or (spoken[i - 1]["start"] if chimed else u["start"]) - before["end"] \
            >= CHIME_AFTER_IDLE_S - 1e-6
        broke_in = before is not None and bool(before.get("interrupted"))
        expected = level_of(u["key"]) >= IMPORTANT and (idle or broke_in)
        assert chimed == expected, (before, u)


def without_chimes(transcript: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [row for row in transcript if row != ("say", "chime")]


def assert_one_voice(spoken: list[dict[str, Any]]) -> None:
    """Nothing overlaps: each utterance starts after the previous one ended."""
    for before, after in itertools.pairwise(spoken):
        assert after["start"] >= before["end"] - 1e-6, (before, after)


@contextmanager
def scenario(tmp: Path, broker: Broker, **sections: dict[str, Any]) -> Iterator[Scenario]:
    yield Scenario(tmp, broker, **sections)


def save(s: Scenario, name: str, title: str, story: str) -> None:
    """The scenario's transcript as markdown, beside the test; with TRANSCRIPTS_DIR (docs/transcripts) too."""
    text = s.markdown(title, story)
    (s.tmp / f"{name}.md").write_text(text, encoding="utf-8")
    out = os.environ.get("TRANSCRIPTS_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"{name}.md").write_text(text, encoding="utf-8")


def said(s: Scenario, key: str) -> list[dict[str, Any]]:
    return [u for u in s.spoken() if u["key"] == key]


def at(s: Scenario, event_type: str) -> float:
    return next(t for t, kind in s.sent() if kind == event_type)
