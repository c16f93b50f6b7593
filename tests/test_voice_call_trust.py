"""Who can make the unit answer and open its microphone (issue #21 item 1): a simulated hub with a real
baresip registered at a real kamailio on loopback, the duty desk as a real baresip calling through
kamailio, and a raw SIP peer (tests/rawsip.py) sending hand-written INVITEs from 127.0.0.2, as anyone
who reaches the SIP port could. "Answered" is judged where it matters: a 200 OK and RTP at the peer."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from rawsip import RawPeer
from schemas import assert_valid
from sipparty import SipParty, need_baresip, write_tone
from sipserver import Registrar
from support import online_hub

from drivers.sip.agent import free_sip_port

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def server(tmp_path: Path):
    need_baresip()
    registrar = Registrar(tmp_path / "registrar").start()
    yield registrar
    registrar.stop()


@pytest.fixture
def desk(tmp_path: Path):
    need_baresip()
    party = SipParty(tmp_path, "desk", write_tone(tmp_path / "desk.wav", (440.0, 660.0))).start()
    yield party
    party.stop()


@pytest.fixture
def peer():
    raw = RawPeer("127.0.0.2")
    yield raw
    raw.close()


def hub_with(make_hub, subscriber, tmp_path: Path, server: Registrar, extra: str = "", listen: str = ""):
    port = free_sip_port()
    tone = write_tone(tmp_path / "hub-mic.wav", (1000.0, 1500.0))
    text = (f'[voice_call]\naccount = "sip:hub@127.0.0.1:{server.port}"\npassword = "secret"\n'
            f'listen = "{listen or f"127.0.0.1:{port}"}"\naudio_source = "aufile,{tone}"\naudio_player = "alsa,null"\n'
            f'mixer_control = ""\nauto_answer_min = 5\nallowed_callers = ["sip:desk@127.0.0.1"]\n{extra}\n')
    hub, sub = online_hub(make_hub, subscriber, text)
    end = time.time() + 20
    while not str(hub.status().get("voice_call", "")).startswith("registered as"):
        assert time.time() < end, f"never registered: {hub.status().get('voice_call')}\n{hub.log_tail()}"
        time.sleep(0.05)
    return hub, sub, port


def ring_through_server(party: SipParty, server: Registrar) -> str:
    """The desk calls the hub's address of record at the server, which relays it: CALL_ESTABLISHED
    (answered; hung up again) or CALL_CLOSED (refused)."""
    mark = len(party.events)
    assert party.command("dial", f"sip:hub@127.0.0.1:{server.port}").ok
    end = time.time() + 20
    while time.time() < end:
        outcome = next((e for e in party.events[mark:] if e.type in ("CALL_ESTABLISHED", "CALL_CLOSED")), None)
        if outcome is not None:
            if outcome.type == "CALL_ESTABLISHED":
                party.on_call(outcome.call_id or "", "hangup")
            return outcome.type
        time.sleep(0.02)
    raise AssertionError(f"the desk's call never ended or connected: {party.log_tail()}")


def assert_not_answered(peer: RawPeer, call_id: str) -> None:
    final = peer.final(call_id)
    assert final is not None and final >= 400, peer.responses[call_id]
    assert 200 not in peer.responses[call_id] and peer.rtp_packets == 0


def press(hub, sub, button: str) -> str:
    event_id = str(hub.sim("press", "--button", button)["event_id"])
    assert sub.wait_event("call.raised", 10) is not None
    return event_id


def test_baresip_listens_on_the_one_address_facing_the_server(tmp_path, make_hub, subscriber, server):
    port = free_sip_port()
    hub, _, _ = hub_with(make_hub, subscriber, tmp_path, server, listen=f"auto:{port}")
    pid = json.loads((hub.state_dir / "sip" / "registration.json").read_text())["pid"]
    bound = bound_addresses(pid)
    # SIP over UDP and TCP on the port, TLS on the next one: on the route to the server (loopback here)
    assert {("udp", "127.0.0.1", port), ("tcp", "127.0.0.1", port), ("tcp", "127.0.0.1", port + 1)} <= bound, bound
    assert [b for b in bound if b[1] != "127.0.0.1" and b[0].startswith("tcp")] == [], bound
    assert [b for b in bound if b[2] in (port, port + 1) and b[1] != "127.0.0.1"] == [], bound
    # libre's DNS resolver keeps two client sockets on any address (ephemeral ports): they take no SIP
    strays = [b for b in bound if b[1] != "127.0.0.1"]
    assert all(b[0].startswith("udp") for b in strays) and len(strays) <= 2, bound
    peer = RawPeer("127.0.0.2")
    try:
        probes = [peer.invite(("127.0.0.1", b[2]), f"sip:hub@127.0.0.1:{b[2]}", "sip:x@127.0.0.2") for b in strays]
        time.sleep(1.0)  # what would have answered has: a listening SIP socket replies within milliseconds
        assert all(peer.responses[i] == [] for i in probes), peer.responses
    finally:
        peer.close()
    log = hub.log_path.read_text(errors="replace")  # baresip runs with its SIP trace on: none of it is logged
    assert "REGISTER sip:" not in log and "Digest" not in log


def bound_addresses(pid: int) -> set[tuple[str, str, int]]:
    """(table, local address, port) of every IPv4/IPv6 socket the process holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = str(fd.readlink()) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("udp", "tcp", "udp6", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            if len(raw) == 4:
                host = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                host = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            found.add((table, host, int(port, 16)))
    return found


def test_a_forged_from_sent_straight_to_the_unit_is_not_answered(tmp_path, make_hub, subscriber, server, desk, peer):
    hub, sub, port = hub_with(make_hub, subscriber, tmp_path, server)
    press(hub, sub, "17")  # an emergency: the window is open, the desk may call back
    forged = peer.invite(("127.0.0.1", port), f"sip:hub@127.0.0.1:{port}", "sip:desk@127.0.0.1")
    assert_not_answered(peer, forged)
    assert ring_through_server(desk, server) == "CALL_ESTABLISHED"  # the real desk, through the server: answered
    started = sub.wait_event("voice.started", 10, direction="incoming")
    assert started is not None and started["data"]["who"] == "caller" and started["data"]["peer"] == desk.uri
    assert len(sub.events("voice.started")) == 1
    assert [e for e in sub.events("voice.ended") if e["data"]["peer"] == "sip:desk@127.0.0.1"] == []  # not one by one


def test_a_bare_number_matches_no_host(tmp_path, make_hub, subscriber, server, peer):
    family = 'targets.family = [{ who = "family", uri = "tel:+8613800000000" }]\n'
    hub, sub, _ = hub_with(make_hub, subscriber, tmp_path, server, family)
    press(hub, sub, "17")
    # through the server (a trusted source), but from a host the number was never tied to
    call_id = peer.invite(("127.0.0.1", server.port), f"sip:hub@127.0.0.1:{server.port}",
                          "sip:+8613800000000@evil.example.org")
    assert_not_answered(peer, call_id)
    assert sub.events("voice.started") == []


def test_a_cancelled_press_opens_no_window(tmp_path, make_hub, subscriber, server, desk):
    hub, sub, _ = hub_with(make_hub, subscriber, tmp_path, server)
    call_id = press(hub, sub, "17")
    assert hub.sim("press", "--button", "17", "--hold", "3.3")["after_hold"] == "cancelled"
    assert sub.wait_event("call.cancelled", 10, call_id=call_id) is not None
    assert ring_through_server(desk, server) == "CALL_CLOSED"
    ended = sub.wait_event("voice.ended", 10, direction="incoming")
    assert ended is not None and ended["data"]["reason"] == "outside_window", hub.log_tail()
    assert sub.events("voice.started") == []


def test_a_service_call_opens_no_window(tmp_path, make_hub, subscriber, server, desk):
    hub, sub, _ = hub_with(make_hub, subscriber, tmp_path, server)
    press(hub, sub, "22")  # 生活服务: someone will come round, nobody needs the microphone
    assert ring_through_server(desk, server) == "CALL_CLOSED"
    ended = sub.wait_event("voice.ended", 10, direction="incoming")
    assert ended is not None and ended["data"]["reason"] == "outside_window", hub.log_tail()
    press(hub, sub, "17")  # an emergency does open it
    assert ring_through_server(desk, server) == "CALL_ESTABLISHED"


def test_four_hundred_strangers_get_no_audio_and_one_summary(tmp_path, make_hub, subscriber, server, desk, peer):
    hub, sub, port = hub_with(make_hub, subscriber, tmp_path, server, "refused_summary_s = 10\n")
    press(hub, sub, "17")  # the window is open: the worst moment
    started = time.monotonic()
    ids = []
    for i in range(400):
        caller = "sip:desk@127.0.0.1" if i % 2 else f"sip:{8000 + i}@203.0.113.{i % 250}"
        ids.append(peer.invite(("127.0.0.1", port), f"sip:hub@127.0.0.1:{port}", caller))
        time.sleep(0.004)
    finals = peer.wait_finals(ids, 60)
    sent_s = time.monotonic() - started
    assert len(finals) == 400 and all(code >= 400 for code in finals.values()), len(finals)
    assert not any(200 in codes for codes in peer.responses.values()) and peer.rtp_packets == 0
    summary = sub.wait_event("voice.refused", 20)
    assert summary is not None, hub.log_tail()
    assert_valid(summary)
    assert 1 <= summary["data"]["count"] <= 400 and summary["data"]["reasons"] == {"wrong_source":
                                                                                 summary["data"]["count"]}
    assert summary["data"]["sources"] == {"127.0.0.x": summary["data"]["count"]}  # masked
    assert ring_through_server(desk, server) == "CALL_ESTABLISHED"  # the desk still gets through afterwards
    assert sub.wait_event("voice.ended", 10, direction="incoming") is not None
    time.sleep(max(0.0, 10 + 2 - (time.monotonic() - started)))  # the next period: still one summary
    assert len(sub.events("voice.refused")) == 1, [e["data"]["count"] for e in sub.events("voice.refused")]
    assert [e for e in sub.events("voice.ended") if e["data"]["peer"] != desk.uri] == []
    log = (hub.log_path.read_text(errors="replace"))
    assert log.count("refused a call from a stranger") == 1
    print(f"400 INVITEs in {sent_s:.1f} s; hub saw {summary['data']['count']}; finals "
          f"{sorted(set(finals.values()))}")
