"""A gas alarm takes the cellular second path like any alarm: the platform's broker is down, the unit's own
broker (zigbee2mqtt's) is up; the SMS names the kind and the room; the duty officer's "1" acknowledges it,
and the platform hears of it (via "sms") once its broker is back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from schemas import assert_valid
from support import PREFIX, Broker, HubProcess, Subscriber, wait_online, wait_until
from zigbee_payloads import config

DUTY = "+8613800138000"
MODEM = f'[modem]\nport = "/dev/ttyUSB2"\nsms_numbers = ["{DUTY}"]\nsms_after_s = 5\n'


@pytest.mark.slow
def test_gas_alarm_by_sms_while_the_platform_is_away(make_hub: Callable[..., HubProcess],
                                                     subscriber: Callable[..., Subscriber], broker: Broker,
                                                     tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    local = Broker(tmp_path / "local").start()  # the unit's own mosquitto, where zigbee2mqtt publishes
    try:
        sub = subscriber(f"{PREFIX}/test-0001/#")
        extra = MODEM + config(local.port).replace("sim_bridge = false", "sim_bridge = true")
        hub = make_hub(extra=extra, hub_extra='resident_ref = "R-0042"')
        assert wait_online(sub, "test-0001"), hub.log_tail()
        wait_until(lambda: (hub.status().get("cellular") or {}).get("registration") == "home", 20, "the modem")
        wait_until(lambda: any(d["friendly_name"] == "kitchen_gas" and d["used"]
                               for d in (hub.status().get("zigbee") or {}).get("devices", [])), 20, "the bridge")

        broker.stop()
        hub.sim("zigbee", "gas", "on")
        sent = wait_until(lambda: hub.sim("modem", "status")["sent"], 30, "the SMS")
        text = sent[0]["text"]
        assert sent[0]["to"] == DUTY and text.startswith("【一键呼】燃气泄漏厨房 R-0042 ") and len(text) <= 70, text
        alarm_id = next(a["alarm_id"] for a in hub.status()["open_alarms"] if a["type"] == "alarm.gas")
        assert text.endswith(f"回复1#{alarm_id[:4]}确认")

        hub.sim("modem", "sms", DUTY, "1")
        wait_until(lambda: all(a["acknowledged"] for a in hub.status()["open_alarms"] if a["type"] == "alarm.gas"),
                   15, "the SMS acknowledgement")
        broker.start()
        acked = sub.wait_event("alarm.acknowledged", 30, alarm_id=alarm_id)
        assert acked is not None, hub.log_tail()
        assert acked["data"]["via"] == "sms" and acked["data"]["alarm_type"] == "alarm.gas"
        assert_valid(acked)
        raised = sub.wait_event("alarm.gas", 10)
        assert raised is not None and raised["id"] == alarm_id and raised["seq"] < acked["seq"]
    finally:
        local.kill()
