"""drivers/sip: the ctrl_tcp framing and messages, the generated baresip config, caller matching, and
two supervised baresip agents calling each other on loopback with audio both ways."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ports import free_port, free_sip_port
from sipparty import best_correlation, dominant_hz, need_baresip, read_wav, write_tone
from support import wait_until

from drivers.sip import registration as reg
from drivers.sip.agent import BaresipAgent
from drivers.sip.control import Response, SipEvent, parse_message
from drivers.sip.netstring import Decoder, NetstringError, encode
from drivers.sip.setup import AgentSettings, account_line, config_text
from drivers.sip.uri import parts, same_party


@given(st.lists(st.binary(max_size=300), max_size=8), st.integers(min_value=1, max_value=50))
def test_netstrings_survive_any_split(payloads, step):
    stream = b"".join(encode(p) for p in payloads)
    decoder = Decoder()
    got: list[bytes] = []
    for i in range(0, len(stream), step):
        got += decoder.feed(stream[i:i + step])
    assert got == payloads


@pytest.mark.parametrize("bad", [b"x:abc,", b"3:abcd", b"01:a,", b"99999999999:"])
def test_broken_netstrings_are_refused(bad):
    with pytest.raises(NetstringError):
        Decoder(max_frame=1 << 20).feed(bad)


def test_messages_as_baresip_1_0_sends_them():
    assert parse_message(b'{"response":true,"ok":true,"data":"","token":"7"}') == Response(True, "", "7")
    event = parse_message(json.dumps({
        "event": True, "type": "CALL_CLOSED", "class": "call", "accountaor": "sip:hub@127.0.0.1:5060",
        "direction": "outgoing", "peeruri": "sip:desk@127.0.0.1:5062", "id": "411e596a90232831",
        "param": "486 Rejected"}).encode())
    assert isinstance(event, SipEvent)
    assert (event.type, event.klass, event.call_id, event.direction, event.peer, event.param) == (
        "CALL_CLOSED", "call", "411e596a90232831", "outgoing", "sip:desk@127.0.0.1:5062", "486 Rejected")
    assert parse_message(b'{"event":true,"type":"REGISTER_FAIL","param":"Connection timed out"}') == SipEvent(
        "REGISTER_FAIL", param="Connection timed out")
    assert parse_message(b"[1]") is None and parse_message(b"not json") is None


def test_generated_config_keeps_control_on_loopback_and_the_password_out_of_the_config(tmp_path):
    settings = AgentSettings(account="sip:hub-0001@pbx.example.org", password="s3cret", auth_user="u1",
                             outbound="sip:pbx.example.org;transport=tcp", rtp_ports="10000-10100")
    text = config_text(settings, 4321, Path("/usr/lib/baresip/modules"))
    assert "ctrl_tcp_listen 127.0.0.1:4321" in text and "s3cret" not in text
    assert "rtp_ports 10000-10100" in text and "module_app ctrl_tcp.so" in text
    line = account_line(settings)
    assert line.startswith("<sip:hub-0001@pbx.example.org>;answermode=manual;regint=600")
    assert ";auth_user=u1;auth_pass=s3cret;outbound=\"sip:pbx.example.org;transport=tcp\"" in line
    assert "regint=0" in account_line(AgentSettings(account="sip:hub@10.0.0.2", register=False))


def test_reginfo_and_state_file(tmp_path):
    assert reg.from_reginfo("> sip:hub@x \x1b[32mOK \x1b[;m Expires 3599s", True) == reg.REGISTERED
    assert reg.from_reginfo("> sip:hub@x \x1b[31mERR\x1b[;m  Expires 0s", True) == reg.FAILED
    assert reg.from_reginfo("> sip:hub@x \x1b[33mzzz\x1b[;m  Expires 0s", True) == reg.REGISTERING
    assert reg.from_reginfo("> sip:hub@x", False) == reg.NOT_USED
    reg.write_state(tmp_path, reg.Registration(reg.FAILED, "403 Forbidden", "sip:hub@x", os.getpid(), 1.0))
    assert reg.read_state(tmp_path) == reg.Registration(reg.FAILED, "403 Forbidden", "sip:hub@x", os.getpid(), 1.0)
    reg.write_state(tmp_path, reg.Registration(reg.REGISTERED, "", "sip:hub@x", 2**22 + 12345, 1.0))
    assert reg.read_state(tmp_path) is None  # written by a baresip that is gone


def test_callers_compare_as_people_mean_them():
    assert parts('"Duty" <sip:8001@PBX.example.org:5060;transport=tcp>') == ("8001", "pbx.example.org")
    assert same_party("sip:8001@pbx.example.org", "sip:8001@pbx.example.org:5080")
    assert same_party("sip:+8613800000000@gw.example.org", "sip:+86 138-0000-0000@GW.example.org")
    assert not same_party("sip:8001@evil.example.org", "sip:8001@pbx.example.org")
    # a bare number or tel: names no SIP caller: anyone can present any number from any host
    assert not same_party("sip:+8613800000000@gw.example.org", "tel:+86 138-0000-0000")
    assert not same_party("sip:8001@evil.example.org", "8001")
    assert not same_party("sip:8002@pbx.example.org", "8001")
    assert not same_party("sip:anonymous@anonymous.invalid", "")


def test_two_agents_call_each_other_with_audio_both_ways_and_restart_after_a_crash(tmp_path):
    need_baresip()
    tones = {"a": (1000.0, 1500.0), "b": (440.0, 660.0)}
    ports = {name: free_sip_port() for name in tones}  # P and P+1 (SIP/TLS), from this worker's block
    events: dict[str, list[SipEvent]] = {name: [] for name in tones}

    def agent(name: str) -> BaresipAgent:
        wav = write_tone(tmp_path / f"{name}.wav", tones[name])
        settings = AgentSettings(account=f"sip:{name}@127.0.0.1:{ports[name]}", register=False,
                                 listen=f"127.0.0.1:{ports[name]}", audio_source=f"aufile,{wav}",
                                 audio_player="alsa,null", dump_dir=tmp_path / f"heard-{name}",
                                 codecs=("g711",) if name == "b" else ("opus", "g722", "g711"))
        return BaresipAgent(settings, tmp_path / f"cfg-{name}", events[name].append, backoff_min_s=0.1)

    async def wait(name: str, event_type: str) -> SipEvent:
        while True:
            found = next((e for e in events[name] if e.type == event_type), None)
            if found is not None:
                return found
            await asyncio.sleep(0.01)

    async def main() -> None:
        a, b = agent("a"), agent("b")
        runs = [asyncio.create_task(x.run(), name=f"agent-{i}") for i, x in enumerate((a, b))]
        await asyncio.wait_for(asyncio.gather(a.ready.wait(), b.ready.wait()), 15)
        assert (tmp_path / "cfg-a" / "accounts").stat().st_mode & 0o077 == 0
        assert (await a.dial(f"sip:b@127.0.0.1:{ports['b']}")).ok
        incoming = await asyncio.wait_for(wait("b", "CALL_INCOMING"), 10)
        assert incoming.peer == f"sip:a@127.0.0.1:{ports['a']}" and incoming.call_id
        assert (await b.accept(incoming.call_id)).ok
        await asyncio.wait_for(asyncio.gather(wait("a", "CALL_ESTABLISHED"), wait("b", "CALL_ESTABLISHED")), 10)
        await asyncio.sleep(2.5)
        assert (await a.hangup(incoming.call_id)).ok
        closed = await asyncio.wait_for(wait("b", "CALL_CLOSED"), 10)
        assert "peer" in closed.param
        # baresip dies: the agent starts another one on a new control port
        pid = a.pid
        os.kill(pid, signal.SIGKILL)
        while a.pid in (0, pid) or not a.ready.is_set():
            await asyncio.sleep(0.02)
        assert a.starts == 2 and (await a.command("reginfo")).ok
        await a.close()
        await b.close()
        await asyncio.wait_for(asyncio.gather(*runs), 10)
        await a.close()  # idempotent

    asyncio.run(main())
    for name, other in (("a", "b"), ("b", "a")):
        heard = read_wav(sorted((tmp_path / f"heard-{name}").glob("dump-*-dec.wav"))[-1])
        played = read_wav(tmp_path / f"{other}.wav")
        assert min(abs(dominant_hz(heard) - f) for f in tones[other]) < 10
        assert best_correlation(heard, played) > 0.8


AGENT_SCRIPT = """
import asyncio, sys
from pathlib import Path
from drivers.sip.agent import BaresipAgent, free_sip_port
from drivers.sip.setup import AgentSettings

async def main():
    port = free_sip_port()
    settings = AgentSettings(account=f"sip:x@127.0.0.1:{port}", register=False, listen=f"127.0.0.1:{port}",
                             audio_source="alsa,null", audio_player="alsa,null")
    agent = BaresipAgent(settings, Path(sys.argv[1]), lambda event: None)
    task = asyncio.create_task(agent.run())
    await agent.ready.wait()
    print(agent.pid, flush=True)
    await task

asyncio.run(main())
"""


def test_baresip_does_not_outlive_a_killed_hub(tmp_path):
    """An orphaned baresip would keep the SIP port from the next hub's: it must go with its parent."""
    need_baresip()
    root = Path(__file__).resolve().parent.parent
    parent = subprocess.Popen([sys.executable, "-c", AGENT_SCRIPT, str(tmp_path / "cfg")], stdout=subprocess.PIPE,
                              cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, start_new_session=True)
    assert parent.stdout is not None
    with parent.stdout:
        child = int(parent.stdout.readline())
        parent.kill()  # SIGKILL: no clean-up code of the parent runs
        parent.wait(5)
    try:
        wait_until(lambda: _gone(child), 10, "baresip gone with its parent")
    finally:
        if not _gone(child):
            os.kill(child, signal.SIGKILL)  # leave no stray baresip behind a failed test


def _gone(pid: int) -> bool:
    """Exited (a zombie until init reaps it counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def _one_port_taken_over_udp_and_tcp() -> tuple[socket.socket, socket.socket]:
    """One port held over UDP and TCP, from this worker's block (tests/ports.py). A kernel-picked UDP port
    is in the ephemeral range, where the same number over TCP may be another test's outgoing connection:
    a CI run found it taken (EADDRINUSE)."""
    port = free_port()
    udp, tcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket()
    udp.bind(("127.0.0.1", port))
    tcp.bind(("127.0.0.1", port))
    return udp, tcp


def test_a_baresip_that_cannot_start_is_retried_and_says_why(tmp_path):
    need_baresip()
    states: list[str] = []

    async def main() -> int:
        udp, tcp = _one_port_taken_over_udp_and_tcp()
        with udp, tcp:  # the SIP port is taken, over UDP and TCP
            port = udp.getsockname()[1]
            settings = AgentSettings(account=f"sip:x@127.0.0.1:{port}", register=False, listen=f"127.0.0.1:{port}",
                                     audio_source="alsa,null", audio_player="alsa,null")
            agent = BaresipAgent(settings, tmp_path / "cfg", lambda event: None, states.append, backoff_min_s=0.05)
            task = asyncio.create_task(agent.run())
            while agent.starts < 3:
                await asyncio.sleep(0.02)
            await agent.close()
            await asyncio.wait_for(task, 10)
            return agent.starts

    assert asyncio.run(main()) >= 3
    assert any(s.startswith("restarting (exit code") and "Address already in use" in s for s in states), states
