"""Voice: the catalogue is complete and espeak-ng renders real audio into the cache."""

from __future__ import annotations

import asyncio
import shutil
import wave

import pytest

from voice.catalogue import UnknownPrompt, catalogue, prompt
from voice.speaker import Speaker
from voice.tts import Voice, render

ISSUE_PROMPTS = {
    "call_raising": "正在呼叫社区，请稍候",
    "call_cancelled": "已取消呼叫",
    "call_acknowledged": "社区已收到，工作人员马上联系您",
    "call_offline": "网络中断，呼叫已保存，恢复后自动发送",
}

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def test_every_prompt_has_mandarin_and_english():
    for key, p in catalogue().items():
        assert p.zh.strip() and p.en.strip(), key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in p.zh), f"{key}: zh text has no Chinese"


@pytest.mark.parametrize("key,text", ISSUE_PROMPTS.items())
def test_issue_wording(key, text):
    assert prompt(key).zh == text


def test_unknown_prompt_is_an_error():
    with pytest.raises(UnknownPrompt):
        prompt("no_such_prompt")


@needs_espeak
def test_espeak_renders_a_mandarin_wav_and_caches_it(tmp_path):
    path = render(prompt("call_raising").zh, Voice("cmn-latn-pinyin", 140, 100), tmp_path)
    with wave.open(str(path)) as w:
        seconds = w.getnframes() / w.getframerate()
        assert w.getnchannels() == 1 and 0.8 < seconds < 10
    mtime = path.stat().st_mtime_ns
    assert render(prompt("call_raising").zh, Voice("cmn-latn-pinyin", 140, 100), tmp_path) == path
    assert path.stat().st_mtime_ns == mtime
    louder = render(prompt("call_raising").zh, Voice("cmn-latn-pinyin", 140, 180), tmp_path)
    assert louder != path


@needs_espeak
def test_speaker_without_audio_device_logs_and_carries_on(tmp_path, caplog):
    async def main() -> list[dict]:
        speaker = Speaker(tmp_path, player="aplay", device="no-such-device-xyz")
        task = asyncio.create_task(speaker.run())
        speaker.say("call_raising")
        speaker.say("call_acknowledged")
        for _ in range(200):
            if len(speaker.history) == 2:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        return speaker.recent()

    spoken = asyncio.run(main())
    assert [u["key"] for u in spoken] == ["call_raising", "call_acknowledged"]
    assert all(u["wav"] and not u["played"] for u in spoken)
    assert len(list(tmp_path.glob("*.wav"))) == 2


@needs_espeak
def test_speaker_with_a_voice_that_cannot_read_mandarin_logs_the_remedy_and_speaks_mandarin(tmp_path, caplog):
    from hub.config.schema import VOICE

    settings = {name: key.default for name, key in VOICE.keys.items()} | {"espeak_voice": "en", "prerender": True,
                                                                            "device": "no-such-device-xyz"}

    async def main() -> list[dict]:
        speaker = Speaker.from_config(settings, tmp_path)
        task = asyncio.create_task(speaker.run())
        speaker.say("sensors_heat_alarm", temperature=36)
        for _ in range(400):
            if speaker.history:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        return speaker.recent()

    with caplog.at_level("INFO"):
        spoken = asyncio.run(main())
    assert "espeak_voice = 'en' 不能读普通话 does not read Mandarin" in caplog.text
    assert spoken[0]["text"] == "室内温度过高，现在三十六度，请开窗通风、多喝水，提醒已发送到社区"
    assert spoken[0]["source"] == "tts" and spoken[0]["duration_s"] > 3
    assert (tmp_path / "voice-probe.json").exists()
