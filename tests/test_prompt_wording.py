"""Each prompt's words claim no more than the fact it declares (issue #20; docs/voice.md "Only the truth").

The facts (hub.speech.claims.CLAIMS): saved = committed; sent = the broker's PUBACK; received = a person
acknowledged; coming = that person said they are on the way. "社区已收到" is how an acknowledgement is
voiced, "马上联系您" / "会联系您" is a person's promise, "正在赶来" is someone on the way: a prompt said on
a PUBACK (or on a commit) may say none of them, and "已通知" needs at least the PUBACK.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from hub.speech.claims import CLAIMS

RECEIVED_ZH = ("社区已收到", "已收到", "马上联系您", "会联系您")
COMING_ZH = ("正在赶来", "赶来")
RECEIVED_EN = ("has your", "will contact", "will call")
COMING_EN = ("on the way", "on their way", "coming to")
SENT_ZH = ("已通知", "已发送到", "已送达")
# What each claim may not say: the words of the stronger facts.
FORBIDDEN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "saved": (RECEIVED_ZH + COMING_ZH + SENT_ZH, RECEIVED_EN + COMING_EN),
    "sent": (RECEIVED_ZH + COMING_ZH, RECEIVED_EN + COMING_EN),
    "texted": (RECEIVED_ZH + COMING_ZH, RECEIVED_EN + COMING_EN),
    "pending": (RECEIVED_ZH + COMING_ZH + SENT_ZH, RECEIVED_EN + COMING_EN),
    "received": (COMING_ZH, COMING_EN),
}
# Not checked by the speech queue: may state no outside fact at all.
UNCLAIMED = (RECEIVED_ZH + COMING_ZH + ("已通知",), RECEIVED_EN + COMING_EN + ("has been told", "has been alerted"))


def prompts() -> dict[str, dict[str, Any]]:
    text = resources.files("voice").joinpath("prompts.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def offending(entry: dict[str, Any], zh_words: tuple[str, ...], en_words: tuple[str, ...]) -> list[str]:
    found = [w for w in zh_words if w in entry["zh"]]
    return found + [w for w in en_words if w.lower() in entry["en"].lower()]


@pytest.mark.parametrize("claim", sorted(FORBIDDEN))
def test_a_prompt_says_nothing_stronger_than_its_claim(claim: str) -> None:
    assert claim in CLAIMS
    table = {k: e for k, e in prompts().items() if e.get("claims") == claim}
    if claim != "texted":
        assert table, f"no prompt claims {claim!r}: the rule checks nothing"
    bad = {k: offending(e, *FORBIDDEN[claim]) for k, e in table.items()}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_rule_covers_every_claim_that_is_not_the_strongest() -> None:
    assert set(CLAIMS) - set(FORBIDDEN) == {"coming"}


def test_sent_and_saved_prompts_never_say_received_or_coming() -> None:
    """The brief's rule in its own words: for "sent" and "saved" none of 社区已收到, 马上联系您, 会联系您,
    正在赶来; for "received" none of the coming phrases."""
    entries = prompts()
    sent_or_saved = [e["zh"] for e in entries.values() if e.get("claims") in ("sent", "saved")]
    received = [e["zh"] for e in entries.values() if e.get("claims") == "received"]
    assert len(sent_or_saved) >= 20 and len(received) >= 4
    for zh in sent_or_saved:
        assert not any(p in zh for p in ("社区已收到", "马上联系您", "会联系您", "正在赶来")), zh
    for zh in received:
        assert "正在赶来" not in zh, zh


def test_a_prompt_without_a_claim_states_no_outside_fact() -> None:
    bad = {k: offending(e, *UNCLAIMED) for k, e in prompts().items() if "claims" not in e}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_rule_catches_the_old_wording() -> None:
    """The wording this replaced (issue #20 follow-up) is refused by the rule above."""
    old_sent = ["检测到烟雾，请立即离开厨房，打开窗户，社区已收到报警",
                "没有收到您的回答，已通知社区，工作人员马上联系您",
                "血压很高，请坐下休息，别走动，社区医生会联系您",
                "室内温度过低，现在八度，请注意保暖，社区已收到提醒"]
    for zh in old_sent:
        assert offending({"zh": zh, "en": ""}, *FORBIDDEN["sent"]), zh
    assert offending({"zh": "电话暂时无人接听，社区已收到呼叫，请稍候", "en": ""}, *UNCLAIMED)
    assert offending({"zh": "没有收到回应，已通知社区", "en": ""}, *UNCLAIMED)
