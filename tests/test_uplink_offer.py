"""Offering a row the uplink already has is a no-op (hub.core.uplink.session, `Uplink.offer`): a call is
offered before its commit's fsync (`Outbox.add(sending=...)`) and again once committed, and the platform
must see it once, through a real mosquitto, in process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from support import PREFIX, wait_until, write_config
from uplink_harness import running_uplink

from hub.config.loader import load
from hub.core.events import Event
from hub.core.outbox import Outbox

pytestmark = pytest.mark.timeout(60)


def test_a_call_offered_early_and_again_after_its_commit_reaches_the_platform_once(
        tmp_path, broker, subscriber) -> None:
    config = load(write_config(tmp_path / "hub" / "hub.toml", broker.port))
    sub = subscriber(f"{PREFIX}/test-0001/event/#")
    outbox = Outbox(config.state_dir / "outbox.db", config.hub_id, config.topic_base)
    delivered: list[str] = []

    async def scenario() -> None:
        async with running_uplink(config, outbox) as (uplink, arrived):
            await asyncio.wait_for(uplink.connected.wait(), 10)
            call = Event("call.raised", {"button": "emergency"}, datetime.now(UTC))
            row = outbox.add(call, sending=uplink.offer)  # on its way while the card syncs...
            uplink.offer(row)  # ...and offered again once committed, as the coordinator does
            uplink.offer(row)
            later = Event("call.raised", {"button": "health"}, datetime.now(UTC))
            uplink.offer(outbox.add(later, sending=uplink.offer))
            while len(arrived) < 2:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # the batched delete (REMOVE_DELAY_S)
        delivered.extend(arrived)  # all it delivered until closed

    try:
        asyncio.run(scenario())
        # The broker delivers one client's QoS 1 messages in order: a second copy of the first call
        # would be here before the second call.
        wait_until(lambda: any(e["data"].get("button") == "health" for e in sub.events()), 10)
        assert len(outbox) == 0
    finally:
        outbox.close()
    assert [e["data"]["button"] for e in sub.events()] == ["emergency", "health"]
    assert len(delivered) == 2
