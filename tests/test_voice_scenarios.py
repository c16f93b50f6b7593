"""What the resident hears, scenario by scenario, asserted in full: the hub in-process on a virtual
clock (exact timings, however busy the machine), a real mosquitto, real espeak-ng WAVs, a player that
takes each WAV's real length. Set TRANSCRIPTS_DIR to write each transcript as markdown (the examples in
docs/transcripts/ were written this way)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from scenario import Scenario, assert_one_voice
from support import Broker

pytestmark = pytest.mark.timeout(60)


def save(s: Scenario, name: str, title: str, story: str) -> None:
    text = s.markdown(title, story)
    (s.tmp / f"{name}.md").write_text(text, encoding="utf-8")
    out = os.environ.get("TRANSCRIPTS_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"{name}.md").write_text(text, encoding="utf-8")


def test_press_raise_ack(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        pressed = await s.press(17)
        assert pressed["outcome"] == "raised"
        await s.quiet(20)
        await s.ack(pressed["event_id"])
        await s.heard("call_acknowledged")
        await s.quiet(2)

    s.run(body)
    spoken = s.spoken()
    print(s.markdown("x", "y"))
    assert_one_voice(spoken)
