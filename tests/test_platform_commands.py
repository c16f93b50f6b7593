"""Commands from the platform are checked before anything acts on them."""

from __future__ import annotations

import pytest

from hub.core.platform_commands import parse_command

KNOWN = {"ack", "ping", "away"}


def test_a_good_ack():
    cmd = parse_command("ack", b'{"event_id": "e1", "by": "op", "message": "ok"}', 1000, KNOWN)
    assert cmd.name == "ack" and cmd.body["event_id"] == "e1"


def test_an_acks_lone_surrogates_become_replacement_characters_and_pairs_stay():
    cmd = parse_command("ack", rb'{"event_id": "e1", "by": "\ud800op", "message": "\ud83d\ude91 \udfff"}', 1000,
                        KNOWN)
    assert cmd.body == {"event_id": "e1", "by": "\ufffdop", "message": "\U0001f691 \ufffd"}
    assert cmd.body["message"].encode("utf-8")  # storable and sendable as it is


def test_empty_ping_is_an_empty_object():
    assert parse_command("ping", b"", 1000, KNOWN).body == {}


@pytest.mark.parametrize("name,payload,words", [
    ("ack", b"not json", "not JSON"),
    ("ack", b"\xff\xfe", "not JSON"),
    ("ack", b"[1]", "JSON object"),
    ("ack", b"{}", "event_id"),
    ("ack", b'{"event_id": 5}', "event_id"),
    ("ack", b'{"event_id": ""}', "event_id"),
    ("ack", b'{"event_id": "e", "by": 3}', "'by'"),
    ("nope", b"{}", "unknown command"),
    ("ack/x", b"{}", "unknown command"),
    ("ack", b"x" * 2000, "exceeds"),
])
def test_bad_commands_are_refused_with_a_reason(name, payload, words):
    with pytest.raises(ValueError) as err:
        parse_command(name, payload, 1000, KNOWN)
    assert words in str(err.value)
