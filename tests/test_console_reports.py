"""`hub console` and the hub's config reports: what the operator reads of a remote change."""

from __future__ import annotations

import json

import pytest
from console_proc import Console

pytestmark = pytest.mark.timeout(120)


def test_a_config_report_is_shown_once_not_again_at_every_hub_restart(hub_env):
    """The hub sends its last config report again at every start (retained state): the operator saw the old
    "已拒绝 REFUSED" line again after each restart, with its old time, as if refused once more."""
    with Console(hub_env) as console:
        console.wait_line(lambda s: " status " in s)
        hub_env.sub.publish("eldercare/v1/test-0001/config/desired",
                            json.dumps({"version": 1, "config": {"voice": {"also_englsh": True}}}))
        console.wait_line(lambda s: "config.reported" in s and "REFUSED" in s)
        hub_env.hub.stop()
        console.wait_line(lambda s: "OFFLINE" in s)
        hub_env.hub.start()
        after, _ = console.wait_line(lambda s: "OFFLINE" in s)
        console.wait_line(lambda s: "在线 online" in s, 20, after)  # back: its start-up messages came first
        hub_env.hub.sim("press")
        console.wait_line(lambda s: "call.raised" in s, 10, after)
        assert len([s for s in console.lines if "config.reported" in s]) == 1, "\n".join(console.lines)
