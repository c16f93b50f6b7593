"""Issue 21 item 8: `cmd/ack` for unknown ids was logged without a rate limit, up to ~60 KB a line.
Log lines are bounded (text from outside clipped, with its length) and rate-limited per cause."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from hubproc import broker, running_hub, write_config
from support import Subscriber

from hub.core.loglimit import LIMIT, PerCause, clip

HUB = "t-loglimit"


def test_clip_keeps_the_head_and_says_the_length() -> None:
    assert clip("short") == "short"
    long = "x" * 60_000
    assert clip(long) == "x" * LIMIT + "…(60000 chars)"
    assert clip({"a": 1}) == "{'a': 1}"


def test_one_line_per_cause_per_minute_then_the_count_left_out(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    quiet = PerCause(logging.getLogger("t.loglimit"), clock=lambda: now[0])
    caplog.set_level(logging.INFO, "t.loglimit")
    for i in range(500):
        quiet.warning("ack-unknown", "cmd/ack names unknown event %s", f"id-{i}-" + "z" * 10_000)
        quiet.warning("other", "another cause %d", i)
        now[0] += 0.1  # 500 in 50 s: one window
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and lines[0].startswith("cmd/ack names unknown event id-0-zzz")
    assert len(lines[0]) < LIMIT + 100
    now[0] += 60
    quiet.warning("ack-unknown", "cmd/ack names unknown event %s", "id-last")
    assert caplog.records[-1].getMessage() == ("cmd/ack names unknown event id-last (and 499 more like it in "
                                               "the last 60 s, not logged)")
    assert len(caplog.records) == 3


def test_a_flood_of_unknown_acks_is_one_short_line(tmp_path: Path) -> None:
    with broker(tmp_path) as port:
        cfg = write_config(tmp_path, port, HUB)
        with running_hub(cfg):
            sub = Subscriber(port, f"eldercare/v1/{HUB}/#")
            try:
                for i in range(40):
                    sub.publish(f"eldercare/v1/{HUB}/cmd/ack", json.dumps({"event_id": f"{i}-" + "A" * 50_000}))
                sub.publish(f"eldercare/v1/{HUB}/cmd/ping", json.dumps({"n": "after the acks"}))
                assert sub.wait_event("system.pong", 60), "no pong"
                # The pong's commit may overtake the last ack's log line: wait for the line, with a deadline.
                end = time.monotonic() + 30
                while "cmd/ack names unknown" not in (tmp_path / "hub.log").read_text(errors="replace"):
                    assert time.monotonic() < end, "no cmd/ack line in the log"
                    time.sleep(0.1)
            finally:
                sub.close()
        log = (tmp_path / "hub.log").read_text(errors="replace")
    lines = [line for line in log.splitlines() if "cmd/ack names unknown" in line]
    assert len(lines) == 1, len(lines)
    assert "…(50002 chars)" in lines[0] and len(lines[0]) < 600
    assert max(len(line) for line in log.splitlines()) < 2000
