"""`hub console`: the installers' stand-in for the platform — watch events, acknowledge calls."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from console_proc import Console
from support import wait_until

from hub.config.loader import load

pytestmark = pytest.mark.timeout(120)


def test_console_shows_a_call_and_acknowledges_it_with_a(hub_env):
    # read by Console's reader thread, waited for with a deadline: a console that prints nothing fails the
    # test in 10 s instead of blocking in readline() until the pytest timeout
    with Console(hub_env) as console:
        console.wait_line(lambda s: "watching eldercare/v1/test-0001" in s)
        console.wait_line(lambda s: " status " in s)  # subscribed: the retained status came in
        call_id = hub_env.hub.sim("press", "--button", "27")["event_id"]
        _, seen = console.wait_line(lambda s: "call.raised" in s)
        assert "health" in seen and call_id in seen
        console.send("a")
        acked = hub_env.sub.wait_event("call.acknowledged", 10, call_id=call_id)
        assert acked and acked["data"]["by"] == "console"
        assert console.close() == 0


def _ack(hub_env, event_id: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", "console", "--config", str(hub_env.hub.config),
                           "--ack", event_id, *args], capture_output=True, text=True, timeout=60)


def test_console_ack_once_by_id_says_acknowledged_once_the_hub_confirms(hub_env):
    call_id = hub_env.hub.sim("press")["event_id"]
    out = _ack(hub_env, call_id, "--by", "operator-3")
    assert out.returncode == 0, out.stderr
    acked = hub_env.sub.wait_event("call.acknowledged", 10, call_id=call_id)
    assert acked and acked["data"]["by"] == "operator-3"
    assert f"已应答 acknowledged: 紧急呼叫 emergency call · 按钮 button 17 [{call_id}]" in out.stdout
    assert "(the hub reported call.acknowledged)" in out.stdout


def test_console_refuses_to_ack_an_id_that_is_not_an_open_alarm(hub_env):
    call_id = hub_env.hub.sim("press", "--button", "27")["event_id"]
    assert hub_env.sub.wait_event("call.raised", 10)
    out = _ack(hub_env, "not-a-real-id")
    assert out.returncode == 1 and "acknowledged" not in out.stdout, out
    assert "拒绝 refused, nothing sent: not-a-real-id is not an open alarm of hub test-0001" in out.stderr
    assert f"健康咨询 health call · 按钮 button 27 [{call_id}]" in out.stderr  # what is open, to pick from
    assert not [m for m in hub_env.sub.messages if m[1].endswith("/cmd/ack")]  # nothing was sent
    assert _ack(hub_env, call_id).returncode == 0


def test_an_alarm_acknowledged_twice_says_when_it_was_and_sends_nothing(hub_env):
    """Two operators (or one pressing Enter twice): the second used to read "not an open alarm … open now:
    none", exit 1, as if the id were wrong. The call closed at the first ack; the hub still lists it."""
    call_id = hub_env.hub.sim("press")["event_id"]
    assert _ack(hub_env, call_id, "--by", "operator-3").returncode == 0
    acked = hub_env.sub.wait_event("call.acknowledged", 10, call_id=call_id)
    zone = ZoneInfo(load(hub_env.hub.config)["hub"]["timezone"])
    hhmm = datetime.fromisoformat(acked["ts"]).astimezone(zone).strftime("%H:%M")
    again = _ack(hub_env, call_id, "--by", "operator-5")
    assert again.returncode == 0, again
    assert (f"已确认 already acknowledged (at {hhmm}, by operator-3): 紧急呼叫 emergency call · 按钮 button 17 "
            f"[{call_id}]") in again.stdout, again.stdout
    assert len([m for m in hub_env.sub.messages if m[1].endswith("/cmd/ack")]) == 1  # the second sent nothing
    never = _ack(hub_env, "not-a-real-id")  # an id never seen is still refused
    assert never.returncode == 1 and "is not an open alarm" in never.stderr


def test_console_says_sent_not_confirmed_when_the_hub_does_not_answer(hub_env):
    call_id = hub_env.hub.sim("press")["event_id"]
    assert hub_env.sub.wait_event("call.raised", 10)
    assert hub_env.sub.wait_for(lambda m: m[1].endswith("/status") and call_id in json.dumps(m[2]))
    assert hub_env.hub.proc is not None
    os.killpg(hub_env.hub.proc.pid, signal.SIGSTOP)  # retained status lists the call; the hub cannot answer
    try:
        out = _ack(hub_env, call_id, "--wait", "2")
    finally:
        os.killpg(hub_env.hub.proc.pid, signal.SIGCONT)
    assert out.returncode == 3, out
    assert "已发送，尚未确认 sent, not yet confirmed" in out.stderr and "acknowledged:" not in out.stdout
    assert hub_env.sub.wait_event("call.acknowledged", 20, call_id=call_id)  # the ack waited at the broker


def test_console_says_plainly_when_the_broker_is_unreachable(tmp_path):
    out = subprocess.run([sys.executable, "-m", "hub", "console", "--host", "127.0.0.1", "--port", "1",
                          "--hub", "x"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "连不上服务器 cannot reach the broker at 127.0.0.1:1" in out.stderr


def _list_of(console: Console, count: int, after: int = 0) -> tuple[int, list[str]]:
    """The next numbered list of `count` open alarms the console printed (its header's index, its rows)."""
    at, _ = console.wait_line(lambda s: s.startswith(f"  open alarms 待处理报警 ({count};"), after=after)
    with console._lock:
        rows = console.lines[at + 1: at + 1 + count]
    assert [r.split(".")[0].strip() for r in rows] == [str(n) for n in range(1, count + 1)], rows
    return at, rows


def test_console_numbers_open_alarms_most_severe_first_and_acks_the_one_picked(hub_env):
    with Console(hub_env) as console:
        console.wait_line(lambda s: "watching eldercare/v1/test-0001" in s)
        console.wait_line(lambda s: " status " in s)  # subscribed: the retained status came in
        service = hub_env.hub.sim("press", "--button", "22")["event_id"]
        at, _ = _list_of(console, 1)
        emergency = hub_env.hub.sim("press", "--button", "17")["event_id"]
        _, rows = _list_of(console, 2, after=at + 1)
        assert "紧急呼叫 emergency call" in rows[0] and emergency in rows[0]  # the more severe, though newer
        assert "生活服务 service call" in rows[1] and service in rows[1]
        console.send("a 2")
        acked = hub_env.sub.wait_event("call.acknowledged", 10, call_id=service)
        assert acked and acked["data"]["by"] == "console"
        _, rows = _list_of(console, 1, after=at + 3)
        assert emergency in rows[0]
        assert [c["call_id"] for c in hub_env.hub.status()["open_calls"]] == [emergency]
        console.send("a 5")
        console.wait_line(lambda s: "no number '5'" in s)
        assert console.close() == 0


def test_console_shows_each_event_on_one_readable_line(hub_env):
    with Console(hub_env) as console:
        console.wait_line(lambda s: " status " in s)
        call_id = hub_env.hub.sim("press", "--button", "17")["event_id"]
        _, line = console.wait_line(lambda s: " call.raised " in s)
        clock, hub, etype, rest = line.split(" ", 3)
        assert len(clock) == 8 and clock.count(":") == 2 and hub == "test-0001" and etype == "call.raised"
        assert "紧急呼叫 emergency call · 按钮 button 17" in rest and f"[id {call_id}]" in rest
        hub_env.sub.publish(hub_env.topic("cmd/ack"), json.dumps({"event_id": call_id, "by": "王芳"}))
        _, line = console.wait_line(lambda s: " call.acknowledged " in s)
        assert "呼叫已应答 call acknowledged" in line and "由 by 王芳" in line
        console.wait_line(lambda s: "no open alarms 无待处理报警" in s)
        assert console.close() == 0


def test_console_started_late_lists_alarms_from_the_retained_status(hub_env):
    call_id = hub_env.hub.sim("press", "--button", "27")["event_id"]
    assert hub_env.sub.wait_event("call.raised", 10)
    with Console(hub_env) as console:
        _, rows = _list_of(console, 1)
        assert "健康咨询 health call" in rows[0] and call_id in rows[0]
        console.send("a")  # alone: number 1, the most severe
        assert hub_env.sub.wait_event("call.acknowledged", 10, call_id=call_id)
        assert console.close() == 0


def test_an_unchanged_status_is_printed_once_a_changed_one_again(capsys):
    from hub.cli.console_board import Board

    board = Board("duty", "")
    topic = "eldercare/v1/h1/status"
    online = {"hub": "h1", "state": "online", "queue_depth": 0, "in_flight": 0, "open_alarms": []}
    for _ in range(3):  # the hub refreshes its retained status every few seconds
        board.message(topic, dict(online), raw=False)
    board.message(topic, {**online, "queue_depth": 1, "in_flight": 1}, raw=False)
    board.message("eldercare/v1/h2/status", {**online, "hub": "h2"}, raw=False)
    lines = [line for line in capsys.readouterr().out.splitlines() if " status " in line]
    assert len(lines) == 3, lines
    assert "queue 0" in lines[0] and "queue 1" in lines[1] and "h2" in lines[2]
    board.message(topic, dict(online), raw=True)  # --json shows everything the broker sent
    assert '"topic"' in capsys.readouterr().out



def test_an_alarm_the_status_listed_first_is_not_listed_again_when_its_event_comes(capsys):
    """After a reconnect the hub's status (listing a call made while the broker was down) can reach the
    console before the call's own delayed event: the open-alarm list was printed once for each."""
    from hub.cli.console_board import Board

    board = Board("duty", "")
    listed = [{"alarm_id": "c1", "type": "call.raised", "since": "2026-12-07T13:17:49.201+08:00", "severity": 1,
               "escalated": False, "acknowledged": False, "kind": "emergency", "button": 17}]
    board.message("eldercare/v1/h1/status", {"hub": "h1", "state": "online", "queue_depth": 1, "in_flight": 1,
                                             "open_alarms": listed}, raw=False)
    board.message("eldercare/v1/h1/event/call.raised", {
        "id": "c1", "hub": "h1", "type": "call.raised", "ts": "2026-12-07T13:17:49.201+08:00",
        "data": {"kind": "emergency", "button": 17}}, raw=False)
    board.message("eldercare/v1/h1/event/call.escalated", {
        "id": "e2", "hub": "h1", "type": "call.escalated", "ts": "2026-12-07T13:18:49.201+08:00",
        "data": {"call_id": "c1", "kind": "emergency"}}, raw=False)
    out = capsys.readouterr().out
    assert out.count("open alarms 待处理报警 (1;") == 2, out  # listed when learnt, and once escalated
    assert " call.raised " in out and out.rstrip().endswith("已升级 ESCALATED  [id c1]"), out


class _Published:
    """What paho's publish() returns; `arrives` runs while the console waits for the PUBACK."""

    def __init__(self, arrives) -> None:
        self.arrives = arrives

    def wait_for_publish(self, timeout: float) -> None:
        self.arrives()

    def is_published(self) -> bool:
        return True


class _Client:
    def __init__(self, arrives) -> None:
        self.arrives, self.sent = arrives, []

    def publish(self, topic: str, payload: str, qos: int) -> _Published:
        self.sent.append((topic, json.loads(payload)))
        return _Published(self.arrives)


@pytest.mark.parametrize("hub_first", [True, False])
def test_a_says_the_acknowledgement_follows_only_when_it_has_not_come_yet(capsys, hub_first):
    """On a fast link the hub's call.acknowledged reaches the console before the broker's PUBACK: the
    console printed "the hub's acknowledgement follows" below the line that already said it."""
    from hub.cli.console import acknowledge
    from hub.cli.console_board import Board

    board = Board("console", None)
    raised = {"id": "c1", "hub": "h1", "type": "call.raised", "ts": "2026-12-07T13:17:49.201+08:00",
              "data": {"kind": "emergency", "button": 17}}
    board.message("eldercare/v1/h1/event/call.raised", raised, raw=False)
    acked = {"id": "e2", "hub": "h1", "type": "call.acknowledged", "ts": "2026-12-07T13:18:30.000+08:00",
             "data": {"call_id": "c1", "kind": "emergency", "by": "console"}}
    hub_acks = lambda: board.message("eldercare/v1/h1/event/call.acknowledged", acked, raw=False)  # noqa: E731
    client = _Client(hub_acks if hub_first else lambda: None)
    capsys.readouterr()
    acknowledge(board, client, "eldercare/v1", "1", "console", None)
    assert client.sent == [("eldercare/v1/h1/cmd/ack", {"event_id": "c1", "by": "console"})]
    out = capsys.readouterr().out
    assert "ack sent 已发送应答: 1. 紧急呼叫 emergency call" in out
    if hub_first:
        assert out.index("call.acknowledged") < out.index("ack sent"), out
        assert "follows" not in out and "终端已确认（见上一行）the hub has acknowledged it (line above)" in out, out
    else:
        assert "等待终端确认 the hub's acknowledgement follows" in out, out


def test_alarms_learned_from_the_status_keep_their_device_and_room(capsys):
    """A console started after a Zigbee SOS press or a leak learns them from the hub's status: the list
    must still say which wireless device and room, never "button None"."""
    from hub.cli.console_board import Board

    board = Board("duty", "")
    listed = [{"alarm_id": "a1", "type": "call.raised", "since": "2026-12-07T04:44:09.578+08:00", "severity": 0,
               "escalated": True, "acknowledged": False, "kind": "emergency", "button": None,
               "device": "zigbee:bedside_sos", "room": "卧室"},
              {"alarm_id": "a2", "type": "alarm.water", "since": "2026-12-07T04:44:12.773+08:00", "severity": 3,
               "escalated": False, "acknowledged": False, "device": "bathroom_leak", "room": "卫生间"}]
    board.message("eldercare/v1/h1/status", {"hub": "h1", "state": "online", "queue_depth": 0, "in_flight": 0,
                                             "open_alarms": listed}, raw=False)
    out = capsys.readouterr().out
    assert "紧急呼叫 emergency call · 无线按钮 wireless zigbee:bedside_sos · 卧室 · h1" in out, out
    assert "漏水 water leak · 卫生间 · bathroom_leak · h1" in out and "None" not in out, out

def test_status_sections_read_as_indented_lines_not_json():
    from hub.cli.status import readable

    lines = readable("device", {"cpu_temp_c": None, "mem_available_mb": 23549, "throttled": {"now": [], "ever": []}})
    assert lines == ["device:", "  cpu_temp_c: —", "  mem_available_mb: 23549", "  throttled:", "    now: —",
                     "    ever: —"]
    lines = readable("ble_meters", [{"address": "C0:FF:EE:00:00:01", "kind": "bp"}])
    assert lines == ["ble_meters:", "  - address C0:FF:EE:00:00:01 · kind bp"]
    assert readable("uplink_faults", [{"kind": "duplicate_id", "detail": {"n": 3}}]) == [
        'uplink_faults:', '  - kind duplicate_id · detail {"n": 3}']
    assert readable("mains", "ok") == ["mains: ok"] and readable("away", False) == ["away: no"]


@pytest.mark.parametrize(("values", "reason", "shown"), [
    ({"systolic": 185.0, "diastolic": 112.0, "grade": "grade_3"}, "bp_grade_3", "血压很高 BP grade 3 · 185/112 mmHg"),
    ({"mmol_per_l": None, "out_of_range": "high", "meal": "fasting"}, "glucose_dangerous",
     "超出量程 HI · 空腹 fasting"),
    ({"mmol_per_l": 2.8, "category": "low"}, "glucose_low", "血糖偏低 glucose low · 2.8 mmol/L"),
    ({"pulse": 131}, "pulse_high", "脉搏过快 pulse high · 脉搏 pulse 131/min"),
    ({"mmol_per_l": 3.2, "category": "high"}, "ketone_high", "血酮偏高 ketone high · 3.2 mmol/L"),
])
def test_a_health_alert_reads_as_the_reading_in_its_units(values, reason, shown):
    from hub.cli.event_lines import describe

    body = {"type": "health.alert", "ts": "2026-11-30T12:33:11+08:00", "hub": "h1", "id": "e1",
            "data": {"reason": reason, "kind": "x", "values": values}}
    line = describe("eldercare/v1/h1/event/health.alert", body)
    assert shown in line and "{" not in line


def test_console_piped_to_a_reader_that_goes_away_ends_without_a_traceback(hub_env):
    """`hub console | head -2`: the events after head has gone must not kill paho's thread with a traceback."""
    console = subprocess.Popen([sys.executable, "-m", "hub", "console", "--config", str(hub_env.hub.config)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert console.stdout is not None and console.stderr is not None
        ready, _, _ = select.select([console.stdout], [], [], 20)  # a deadline, not a readline() that may hang
        assert ready, "the console printed nothing in 20 s"
        assert "watching" in console.stdout.readline()
        console.stdout.close()  # head has printed its lines and exited

        def ended() -> bool:
            if console.poll() is not None:
                return True
            # "watching" comes before the broker has the console's subscription: an event published before
            # it never reaches the console, which then has nothing to write and never sees the closed pipe.
            # So a new event each time: a ping's pong (a second press of one button is no new event, only
            # "call_repeat": under load the one call.raised went out before the console had subscribed).
            hub_env.sub.publish(hub_env.topic("cmd/ping"), b"{}")
            return False
        wait_until(ended, 20, "the console to end by itself", interval=1.0)
        assert console.wait(1) in (0, 130, 141)  # ended by itself, stdin still open
        assert "Traceback" not in console.stderr.read()
    finally:
        console.kill()
        console.wait(10)
        for stream in (console.stdin, console.stderr):
            if stream is not None:
                stream.close()


def test_console_says_when_nothing_arrives_on_a_live_link(hub_env):
    """A wrong hub id, or a hub that stopped: the link is up but silent, and the console says so."""
    out = subprocess.run([sys.executable, "-m", "hub", "console", "--config", str(hub_env.hub.config), "--hub",
                          "no-such-hub", "--quiet-after", "1.5", "--exit-after", "6"], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert "未收到消息 no message for" in out.stdout and "none since the console started" in out.stdout
    assert out.stdout.count("未收到消息") == 1  # once per silence, not every second


def test_console_ack_while_the_broker_is_down_says_so_and_the_console_lives_on(hub_env):
    with Console(hub_env) as console:
        console.wait_line(lambda s: " status " in s)
        call_id = hub_env.hub.sim("press", "--button", "27")["event_id"]
        at, _ = _list_of(console, 1)
        hub_env.broker.stop()
        at, _ = console.wait_line(lambda s: "连接中断 connection to the broker LOST" in s, 30, after=at)
        console.send("a")
        console.wait_line(lambda s: "ack NOT confirmed sent" in s and call_id in s, 30, after=at)
        hub_env.broker.start()
        console.wait_line(lambda s: "连接已恢复 connection restored" in s, 30, after=at)
        console.send("l")  # still listening and answering
        console.wait_line(lambda s: "broker 在线 connected" in s and "last message received" in s, 30, after=at)
        assert console.close() == 0
        assert not [line for line in console.lines if "Traceback" in line]


def test_an_operators_typing_slips_still_ack_the_one_meant_and_the_rest_is_said_in_both_languages(hub_env):
    """Caps lock on ('A 2'), the space forgotten ('a2'): the call meant is acknowledged; a number not on the list
    or a key the console does not know is answered in Mandarin first, as the rest of the console is."""
    with Console(hub_env) as console:
        console.wait_line(lambda s: " status " in s)  # subscribed: the retained status came in
        health = hub_env.hub.sim("press", "--button", "27")["event_id"]
        at, _ = _list_of(console, 1)
        service = hub_env.hub.sim("press", "--button", "22")["event_id"]
        _, rows = _list_of(console, 2, after=at + 1)
        assert service in rows[1], rows
        console.send("A 2")
        assert hub_env.sub.wait_event("call.acknowledged", 10, call_id=service)
        _, rows = _list_of(console, 1, after=at + 3)
        assert health in rows[0], rows
        console.send("a 5")
        console.wait_line(lambda s: "没有第 5 条（共 1 条）no number '5'" in s)
        console.send("x")
        console.wait_line(lambda s: "a 回车应答第 1 条，a N 应答第 N 条，l 重新列出，q 退出" in s)
        console.send("a1")
        assert hub_env.sub.wait_event("call.acknowledged", 10, call_id=health)
        assert hub_env.hub.status()["open_calls"] == []
        assert console.close() == 0
