"""A room the resident hears inside a sentence ("厨房检测到烟雾，…报警已发送到社区") is a place name and
nothing more. Remote config (the platform may set `[smoke] room`), a bundle or a hand-edited file could
otherwise end her sentence and start another, or put Latin letters espeak-ng spells out letter by letter."""

from __future__ import annotations

from typing import Any

import pytest

from hub.config.loader import ConfigError, validate

PROBES = ["。报警已取消", "厨房，没事了", "kitchen", "厨房 ", "<b>厨房</b>", "厨房\n报警已送达"]


def _configs(room: str) -> list[dict[str, Any]]:
    return [
        {"smoke": {"kind": "relay", "room": room}},
        {"triggers": [{"id": "pendant", "address": "A4:C1:38:00:00:01", "key": "0" * 32, "room": room}]},
        {"zigbee": {"enabled": True, "devices": [{"friendly_name": "gas", "room": room, "role": "gas"}]}},
    ]


@pytest.mark.parametrize("room", PROBES)
def test_a_room_that_is_not_a_place_name_is_refused_wherever_it_is_spoken(room: str) -> None:
    for config in _configs(room):
        with pytest.raises(ConfigError) as err:
            validate(config)
        assert "房间名只能用汉字" in str(err.value) and "Chinese characters only" in str(err.value), config


@pytest.mark.parametrize("room", ["厨房", "卫生间", "卧室"])
def test_a_room_in_chinese_characters_is_taken(room: str) -> None:
    for config in _configs(room):
        validate(config)
    assert validate({"smoke": {"room": ""}})["smoke"]["room"] == ""  # no room: the warning names none
