"""Names a resident can hear: an ack speaks the operator's name only when it is a display name in Han
characters (the platform's `by_name`, a configured `[voice] operator_names` entry, or `by` itself);
a login ("console", "duty01", "operator 7") is heard as the generic 工作人员, never spelled out."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from schemas import validator
from support import PREFIX, HubProcess, Subscriber, online_hub, wait_spoken

from hub.alarms.acknowledgement import spoken_name
from hub.core.platform_commands import parse_command
from voice.library import PromptAudio

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(("by", "by_name", "names", "heard"), [
    ("console", None, {}, ""),
    ("duty01", None, {}, ""),
    ("operator 7", None, {}, ""),
    ("operator-7", None, {}, ""),
    ("Wang Fang", None, {}, ""),
    ("王芳", None, {}, "王芳"),
    (" 王 芳 ", None, {}, "王芳"),
    ("duty01", "李娜", {}, "李娜"),
    ("duty01", None, {"duty01": "张伟"}, "张伟"),
    ("duty01", "Li Na", {"duty01": "张伟"}, "张伟"),  # by_name not in Han: the configured name
    ("duty01", "duty 1", {"duty01": "zhang"}, ""),  # neither: the generic word
    ("王芳duty", None, {}, ""),
    ("王", None, {}, ""),  # one character is not a name the resident would recognise
    ("王" * 13, None, {}, ""),
    ("阿依古丽·买买提", None, {}, "阿依古丽买买提"),
    ("console", "王芳\ufffd", {}, ""),
])
def test_only_a_han_display_name_is_spoken(by: str, by_name: str | None, names: dict[str, str], heard: str) -> None:
    assert spoken_name(by, by_name, names) == heard


def test_cmd_ack_carries_by_name_in_the_schema_and_the_parser() -> None:
    body = {"event_id": "e1", "by": "duty01", "by_name": "王芳"}
    validator("cmd.ack").validate(body)
    assert parse_command("ack", json.dumps(body).encode(), 4096, {"ack"}).body["by_name"] == "王芳"
    with pytest.raises(ValueError, match="by_name"):
        parse_command("ack", json.dumps({**body, "by_name": 7}).encode(), 4096, {"ack"})


CASES = {
    "login": ({"by": "duty01"}, "", "call_acknowledged", "社区已收到，工作人员马上联系您"),
    "console": ({"by": "console"}, "", "call_acknowledged", "社区已收到，工作人员马上联系您"),
    "by_name": ({"by": "duty01", "by_name": "王芳"}, "", "call_acknowledged_by", "社区已收到，工作人员王芳马上联系您"),
    "configured": ({"by": "operator 7"}, '[voice]\nenabled = false\noperator_names = { "operator 7" = "张伟" }\n',
                   "call_acknowledged_by", "社区已收到，工作人员张伟马上联系您"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_resident_hears_a_name_or_the_generic_word(case: str, make_hub: Callable[..., HubProcess],
                                                       subscriber: Callable[..., Subscriber]) -> None:
    ack, extra, key, text = CASES[case]
    hub, sub = online_hub(make_hub, subscriber, extra)
    call_id = hub.sim("press", "--button", "17")["event_id"]
    sub.publish(f"{PREFIX}/test-0001/cmd/ack", json.dumps({"event_id": call_id, **ack}, ensure_ascii=False))
    acked = sub.wait_event("call.acknowledged", 10, call_id=call_id)
    assert acked and acked["data"]["by"] == ack["by"], hub.log_tail()  # the platform still sees the login
    told = wait_spoken(hub, key)
    assert told and told["text"] == text, hub.spoken()
    assert told["about"] == call_id


@pytest.mark.parametrize("key", ["call_acknowledged_by", "alarm_acknowledged_by"])
def test_the_english_line_never_carries_a_han_name(key: str) -> None:
    """With [voice] also_english the English voice follows; it would read 王芳 as "Chinese letter"."""
    assert PromptAudio.text(key, "zh", name="王芳") == "社区已收到，工作人员王芳马上联系您"
    assert not re.search(r"[\u3400-\u9fff]", PromptAudio.text(key, "en", name="王芳"))
