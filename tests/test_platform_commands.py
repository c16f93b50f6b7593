"""Commands from the platform are checked before anything acts on them."""

from __future__ import annotations

import logging

import pytest

from hub.core.platform_commands import MAX_DEPTH, RateLimitedLog, TokenBucket, nesting_depth, parse_command

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


@pytest.mark.parametrize("payload,words", [
    (b"[" * 2048, "nested 2048 deep"),  # used to raise RecursionError into paho's read loop
    (b'{"a":' * 17 + b"1" + b"}" * 17, "nested 17 deep"),
    (b'{"event_id": "e", "n": NaN}', "NaN is not a JSON number"),
    (b'{"event_id": "e", "n": -Infinity}', "-Infinity is not a JSON number"),
    (b'{"event_id": "e", "n": 1e999}', "out of range"),
    (b'{"event_id": "e", "n": ' + b"9" * 5000 + b"}", "not JSON"),
    (b"\xed\xa0\x80", "not UTF-8"),  # a surrogate encoded as bytes is not UTF-8 either
])
def test_hostile_payloads_are_refused_with_a_reason_and_nothing_else(payload, words):
    with pytest.raises(ValueError) as err:
        parse_command("ack", payload, 1 << 20, KNOWN)
    assert type(err.value) is ValueError and words in str(err.value)


@pytest.mark.parametrize("payload", [b'{"by": "\\ud800"}', b'{"until": {"x": ["\\udfff"]}}'])
def test_lone_surrogates_refuse_other_commands_whole(payload):
    # An ack's texts are cleaned instead (U+FFFD), so help is never refused over a name: see below.
    with pytest.raises(ValueError, match="lone surrogate"):
        parse_command("away", payload, 1 << 20, KNOWN)


def test_an_ack_with_lone_surrogates_is_cleaned_not_refused():
    body = parse_command("ack", b'{"event_id": "e", "by": "\\ud800", "message": "ok \\udfff"}', 1000, KNOWN).body
    assert body["by"] == "\ufffd" and body["message"] == "ok \ufffd"


def test_brackets_inside_strings_do_not_count_as_nesting():
    body = parse_command("ack", b'{"event_id": "e", "message": "[[[[[[[[[[[[[[[[[[[[{{{{{\\"]]"}', 1000, KNOWN).body
    assert body["message"] == '[[[[[[[[[[[[[[[[[[[[{{{{{"]]'
    assert nesting_depth('{"a": [[{"b": "[[[["}]]}') == 4


def test_a_command_nested_up_to_the_limit_is_accepted():
    payload = b'{"a":' * (MAX_DEPTH - 1) + b"{}" + b"}" * (MAX_DEPTH - 1)
    assert parse_command("ping", payload, 1000, KNOWN).body["a"]


def test_the_rate_limited_log_says_how_many_it_left_out(caplog):
    limited = RateLimitedLog(logging.getLogger("test.ratelimit"), per_minute=3)
    with caplog.at_level(logging.WARNING, "test.ratelimit"):
        for i in range(10):
            limited.warning("bad %d", i)
        limited.window -= 61  # a minute later
        limited.warning("bad again")
    assert [r.getMessage() for r in caplog.records] == [
        "bad 0", "bad 1", "bad 2", "... and 7 more like it in the last minute (not logged)", "bad again"]


def test_the_ping_bucket_allows_a_burst_then_the_rate():
    bucket = TokenBucket(rate=10, burst=10)
    assert sum(bucket.take(100.0) for _ in range(50)) == 10
    assert sum(bucket.take(100.5) for _ in range(50)) == 5
