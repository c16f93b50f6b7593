"""The open-alarm registry's rules, in process, on a real outbox database (hub.alarms.registry).

One open alarm per key (a repeat joins it), lasting alarms stay listed until acknowledged AND cleared,
and a restart restores exactly what was committed with the events — nothing more.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeHub

from hub.alarms import store as alarm_store
from hub.alarms.registry import AlarmRegistry
from hub.alarms.store import CLOSED_KEPT_S, OpenAlarm
from hub.config.loader import Config, validate
from hub.core.events import Event
from hub.core.outbox import Outbox, StateChange


class OutboxHub(FakeHub):
    """The shared fake, its registry committing into a real Outbox (as the hub does)."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(Config(tmp / "hub.toml", validate({"hub": {"state_dir": str(tmp / "state")}})))
        self.outbox = Outbox(tmp / "state" / "outbox.db", "hub-1", "eldercare/v1/hub-1")
        self.alarms = AlarmRegistry(self, self.commit, self.config.state_dir)  # type: ignore[arg-type]
        self.alarms.load(self.outbox.transact)

    async def commit(self, event: Event, state: StateChange | None = None) -> Event:
        self.outbox.add(event, state)
        return await super().commit(event)


def run(tmp_path: Path, scenario: Callable[[OutboxHub], Awaitable[Any]]) -> OutboxHub:
    async def go() -> OutboxHub:
        hub = OutboxHub(tmp_path)
        try:
            await scenario(hub)
        finally:
            hub.alarms.stop()
            await hub.cancel_tasks()
            hub.outbox.close()
        return hub
    return asyncio.run(asyncio.wait_for(go(), 20))


def test_a_repeat_joins_the_open_alarm_and_an_ack_of_either_id_closes_it_once_cleared(tmp_path: Path) -> None:
    async def scenario(hub: OutboxHub) -> None:
        first = await hub.alarms.open("alarm.heat", {"temperature_c": 36}, key="heat", lasting=True)
        repeat = await hub.alarms.open("alarm.heat", {"temperature_c": 37, "repeat": True}, key="heat", lasting=True)
        (alarm,) = hub.alarms.open_alarms()
        assert alarm.id == first.id and alarm.aliases == (repeat.id,) and alarm.present
        assert await hub.alarms.ack(repeat.id, "op", None, named=False)
        (alarm,) = hub.alarms.open_alarms()  # acknowledged, but still hot: stays listed
        assert alarm.acknowledged and alarm.present
        (acked,) = hub.raised("alarm.acknowledged")
        assert acked.data == {"alarm_id": first.id, "alarm_type": "alarm.heat", "escalated": False,
                              "present": True, "by": "op"}
        assert await hub.alarms.ack(first.id, "op", None, named=False)  # again: nothing new
        assert len(hub.raised("alarm.acknowledged")) == 1
        await hub.alarms.change("heat", "alarm.heat_cleared", {"temperature_c": 33}, cleared=True)
        assert hub.alarms.open_alarms() == []

    hub = run(tmp_path, scenario)
    assert hub.spoken == ["alarm_acknowledged"]


def test_a_new_event_on_an_acknowledged_lasting_alarm_needs_a_new_ack(tmp_path: Path) -> None:
    async def scenario(hub: OutboxHub) -> None:
        fire = await hub.alarms.open("alarm.fire", {"cause": "smoke"}, key="fire:smoke", lasting=True)
        await hub.alarms.ack(fire.id, "op", None, named=False)
        again = await hub.alarms.open("alarm.fire", {"cause": "smoke"}, key="fire:smoke", lasting=True)
        (alarm,) = hub.alarms.open_alarms()
        assert alarm.id == fire.id and not alarm.acknowledged and again.id in alarm.ids

    run(tmp_path, scenario)


def test_a_restart_restores_what_was_committed(tmp_path: Path) -> None:
    ids: dict[str, str] = {}

    async def before(hub: OutboxHub) -> None:
        ids["fall"] = (await hub.alarms.open("alarm.fall", {}, key="fall", facts={"source": "radar"})).id
        ids["fire"] = (await hub.alarms.open("alarm.fire", {}, key="fire:smoke", lasting=True)).id
        ids["mains"] = (await hub.alarms.open("power.lost", {}, key="power.lost", lasting=True)).id
        await hub.alarms.ack(ids["fire"], "op", None, named=False)  # acknowledged while present
        call = await hub.alarms.open("call.raised", {}, key="call:17", facts={"kind": "emergency", "button": 17})
        await hub.alarms.change(call.id, "call.escalated", {}, escalated=True)
        ids["call"] = call.id
        cancelled = await hub.alarms.open("call.raised", {}, key="call:22", facts={"kind": "service", "button": 22})
        ids["cancelled"] = cancelled.id
        assert await hub.alarms.withdraw(cancelled.id, "call.cancelled", {})
        assert await hub.alarms.withdraw(cancelled.id, "call.cancelled", {}) is None  # already closed

    async def after(hub: OutboxHub) -> None:
        restored = {a.type: a for a in hub.alarms.open_alarms()}
        # The acknowledged fire is closed at start: nobody sees its smoke any more. The unacknowledged
        # mains alarm stays, no longer known to be present; the call keeps its escalation.
        assert set(restored) == {"alarm.fall", "power.lost", "call.raised"}
        assert restored["alarm.fall"].facts == {"source": "radar"}
        assert restored["power.lost"].present is False and not restored["power.lost"].acknowledged
        assert restored["call.raised"].id == ids["call"] and restored["call.raised"].escalated
        assert [a["type"] for a in hub.status["open_alarms"]] == ["alarm.fall", "call.raised", "power.lost"]
        assert await hub.alarms.ack(ids["mains"], "op", None, named=True)
        assert [e.type for e in hub.events] == ["power.acknowledged"]

    run(tmp_path, before)
    run(tmp_path, after)
    with sqlite3.connect(tmp_path / "state" / "outbox.db") as db:
        rows = {r[0]: r[1] for r in db.execute("SELECT id, key FROM open_alarms")}
    # Closes are kept a while, for the acks after them (hub.alarms.words); the fire closed at start, long
    # after its ack, is not one the resident just heard.
    assert {i for i, key in rows.items() if not key.startswith("closed:")} == {ids["fall"], ids["call"]}
    assert {i for i, key in rows.items() if key.startswith("closed:")} == {ids["cancelled"], ids["mains"]}


def test_an_ack_that_cannot_be_committed_changes_nothing(tmp_path: Path) -> None:
    async def scenario(hub: OutboxHub) -> None:
        fall = await hub.alarms.open("alarm.fall", {}, key="fall")
        hub.outbox.close()  # the storage is gone: every commit fails
        assert await hub.alarms.ack(fall.id, "op", None, named=True)
        (alarm,) = hub.alarms.open_alarms()
        assert alarm.id == fall.id and not alarm.acknowledged and hub.spoken == []
        assert hub.raised("alarm.acknowledged") == []

    run(tmp_path, scenario)


def test_only_acknowledgeable_categories_open_alarms(tmp_path: Path) -> None:
    async def scenario(hub: OutboxHub) -> None:
        with pytest.raises(ValueError, match="no acknowledgement event"):
            await hub.alarms.open("fault.sensor", {}, key="x")

    run(tmp_path, scenario)


def test_a_close_is_kept_five_minutes_and_goes_with_a_later_close() -> None:
    """The store keeps a closed alarm's row CLOSED_KEPT_S for the acks after it (also after a restart); the
    next close removes the older ones in its own transaction, so the table never grows."""
    conn = sqlite3.connect(":memory:")
    alarm_store.load(conn)  # creates the table
    def closed(alarm_id: str, kind: str) -> OpenAlarm:
        return OpenAlarm(id=alarm_id, type="call.raised", key=f"call:{alarm_id}", since="", opened=0.0,
                         facts={"kind": kind}, acknowledged=True)
    alarm_store.write(closed("a", "health"), 1000.0)(conn)
    alarm_store.write(closed("b", "service"), 1000.0 + CLOSED_KEPT_S - 1)(conn)
    assert [(a.id, at) for a, at in alarm_store.load(conn)[1]] == [("a", 1000.0), ("b", 1000.0 + CLOSED_KEPT_S - 1)]
    alarm_store.write(closed("c", "emergency"), 1000.0 + CLOSED_KEPT_S + 1)(conn)
    assert [a.id for a, _ in alarm_store.load(conn)[1]] == ["b", "c"]
    assert alarm_store.load(conn)[0] == []  # none of them is open

