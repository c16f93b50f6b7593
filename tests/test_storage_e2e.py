"""Degraded storage mode end to end: a real hub and mosquitto, the SD card full or read-only (at run
time through the power-cut filesystem's write errors, at start-up through a full tmpfs and a
read-only bind mount). The call reaches the broker, the resident hears the truth, `fault.storage`
is raised and cleared, and the hub never stops."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from faultfs import bind_mount, fill, tmpfs
from powercut import PowerCutFS, fuse_available
from schemas import assert_valid
from support import PREFIX, Broker, HubProcess, Subscriber, spoken_keys, wait_online, wait_until, write_config

HUB = "test-sd"
OUTBOX = "[outbox]\nstorage_retry_s = 0.5\n"
VOICE_ON = "[voice]\nenabled = true\n\n" + OUTBOX  # tests/support.py turns the voice off otherwise
EXTRA = "[voice]\nenabled = false\n\n" + OUTBOX


def config_on(tmp_path: Path, broker: Broker, state: Path, extra: str = EXTRA) -> Path:
    cfg = write_config(tmp_path / "etc" / "hub.toml", broker.port, hub_id=HUB, extra=extra)
    cfg.write_text(cfg.read_text().replace(f'state_dir = "{tmp_path / "etc" / "state"}"',
                                           f'state_dir = "{state}"'))
    return cfg


@pytest.mark.skipif(fuse_available() is not None, reason=str(fuse_available()))
@pytest.mark.parametrize(("error", "reasons"), [("ENOSPC", {"disk_full"}),
                                                 ("EROFS", {"read_only", "io_error"})])
def test_a_card_that_fails_while_running_still_calls_and_tells_the_truth(
        tmp_path: Path, broker: Broker, subscriber: Callable[..., Subscriber], error: str,
        reasons: set[str]) -> None:
    sub = subscriber(f"{PREFIX}/{HUB}/#")
    with PowerCutFS(tmp_path / "card") as fs:
        (fs.path / "state").mkdir()
        # Voice on: the prompts must be rendered somewhere the failed card is not.
        hub = HubProcess(config_on(tmp_path, broker, fs.path / "state", VOICE_ON)).start()
        try:
            assert wait_online(sub, HUB), hub.log_tail()
            fs.fail(error)
            outcome = hub.sim("press", "--button", "17")
            assert outcome["outcome"] == "raised"
            call = sub.wait_event("call.raised", kind="emergency")
            assert call is not None and call["id"] == outcome["event_id"], hub.log_tail()
            assert_valid(call)
            fault = sub.wait_event("fault.storage")
            assert fault is not None and fault["data"]["reason"] in reasons, hub.log_tail()
            assert_valid(fault)
            # The truth: not saved, then sent once the broker has it; never "呼叫已保存".
            keys = wait_until(lambda: "storage_call_sent" in spoken_keys(hub) and spoken_keys(hub), timeout=60)
            assert keys.index("storage_call_unsaved") < keys.index("storage_call_sent"), keys
            assert "call_offline" not in keys and "call_raising" not in keys
            rendered = {u["key"]: u["wav"] for u in hub.spoken()}
            for key in ("storage_call_unsaved", "storage_call_sent", "storage_fault"):
                assert rendered[key] and not rendered[key].startswith(str(fs.path)), (key, rendered[key])
            status = hub.status()["storage"]
            assert status["state"] == "degraded" and status["reason"] in reasons
            fs.heal()
            cleared = sub.wait_event("fault.storage_cleared", fault_id=fault["id"])
            assert cleared is not None, hub.log_tail()
            assert_valid(cleared)
            assert wait_until(lambda: hub.status()["storage"]["state"] == "ok")
            second = hub.sim("press", "--button", "27")
            assert sub.wait_event("call.raised", kind="health") is not None
            assert second["outcome"] == "raised"
            # Prompts are recorded once heard (one voice at a time, hub.speech.queue), so wait for it.
            assert wait_until(lambda: spoken_keys(hub)[-1:] == ["call_raising"], timeout=60), spoken_keys(hub)
            assert hub.alive()
        finally:
            hub.stop()


def test_the_hub_starts_on_a_full_card_and_calls(tmp_path: Path, broker: Broker,
                                                 subscriber: Callable[..., Subscriber]) -> None:
    sub = subscriber(f"{PREFIX}/{HUB}/#")
    with tmpfs(tmp_path / "card", "2m") as card:
        (card / "state").mkdir()
        filler = fill(card)
        hub = HubProcess(config_on(tmp_path, broker, card / "state")).start()
        try:
            assert wait_online(sub, HUB), hub.log_tail()
            fault = sub.wait_event("fault.storage")
            assert fault is not None and fault["data"]["reason"] in ("disk_full", "cannot_open")
            assert "storage_fault" in spoken_keys(hub)
            hub.sim("press", "--button", "17")
            assert sub.wait_event("call.raised", kind="emergency") is not None, hub.log_tail()
            assert wait_until(lambda: "storage_call_sent" in spoken_keys(hub), timeout=60), spoken_keys(hub)
            assert "starting on a failing SD card" in hub.log_tail(200)
            filler.unlink()  # the technician frees space: the fault clears without a restart
            assert sub.wait_event("fault.storage_cleared", fault_id=fault["id"]) is not None
        finally:
            hub.stop()


def test_the_hub_starts_on_a_read_only_card(tmp_path: Path, broker: Broker,
                                            subscriber: Callable[..., Subscriber]) -> None:
    sub = subscriber(f"{PREFIX}/{HUB}/#")
    state = tmp_path / "card" / "state"
    cfg = config_on(tmp_path, broker, state)
    state.mkdir(parents=True)
    HubProcess(cfg).start().stop()  # a card that has been in use
    with bind_mount(tmp_path / "card") as mount:
        mount.read_only()
        hub = HubProcess(cfg).start(wait=False)
        try:
            # No control socket on a read-only card; the platform still sees it all.
            status = sub.wait_for(lambda m: m[1].endswith("/status") and isinstance(m[2], dict)
                                  and m[2].get("storage", {}).get("state") == "degraded", 30)
            assert status is not None, hub.log_tail()
            assert status[2]["state"] == "online"
            fault = sub.wait_event("fault.storage")
            assert fault is not None and fault["data"]["reason"] in ("read_only", "cannot_open")
            assert hub.alive()
            assert "control socket" in hub.log_tail(200)
            # each part that keeps a file says once, plainly, that it cannot: no traceback for the technician
            # ("task triggers.save died" and 20 lines of OSError, as if the hub had crashed)
            assert "Traceback" not in hub.log_tail(400) and "died" not in hub.log_tail(400), hub.log_tail(400)
        finally:
            hub.stop()
