"""Voice-call latency over SIP: press -> the INVITE at the duty desk, and the auto-answer delay.

A `hub run --simulate` with a real baresip calls a real baresip "duty desk" on loopback (no SIP
server: direct sip:user@127.0.0.1:port URIs), through a private mosquitto.

- press -> INVITE: from the call.raised event's `ts` (the button's first edge, stamped by the hub) to
  the desk's ctrl_tcp reporting CALL_INCOMING. Spans the outbox commit, the hub's event fan-out, the
  prompt queue, the dial command, baresip building the INVITE and the desk's baresip parsing it. The
  desk then refuses (486), the platform acknowledges the call, and the next press starts afresh.
- auto-answer: the desk (an allowed caller, inside the window the presses opened) dials the hub; from
  the dial command to the desk seeing CALL_ESTABLISHED (the hub's 200 OK): INVITE transit, the hub's
  decision, `callfind` + `accept`, and the answer's way back. The desk hangs up; repeat.

Figures only, nothing asserted. Run: python bench/sip_latency.py [--n 20]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PREFIX, Recorder, bench_args, hub_env, load_line, percentile, scratch, start_broker
from sipparty import SipParty, write_tone

from drivers.sip.agent import free_sip_port
from drivers.sip.setup import find_binary

HUB = "bench-sip"


def row(name: str, xs: list[float]) -> str:
    if not xs:
        return f"{name:28} no samples"
    return (f"{name:28}{statistics.median(xs) * 1000:9.1f} ms{percentile(xs, 0.9) * 1000:9.1f} ms"
            f"{max(xs) * 1000:9.1f} ms   {len(xs)}")


def main() -> int:
    args = bench_args(__doc__, 20).parse_args()
    if find_binary() is None:
        print("baresip not installed (apt-get install baresip-core)")
        return 1
    print(f"SIP latency: {args.n} presses, {args.n} call-backs; {load_line()}")
    invite: list[float] = []
    answer: list[float] = []
    with scratch(args.keep) as root:
        broker = start_broker(root)
        desk = SipParty(root, "desk", write_tone(root / "desk.wav", (440.0, 660.0)))
        rec = None
        try:
            desk.start()
            port = free_sip_port()
            account = f"sip:hub@127.0.0.1:{port}"
            extra = (f'[voice_call]\naccount = "{account}"\nregister = false\nlisten = "127.0.0.1:{port}"\n'
                     f'audio_source = "aufile,{write_tone(root / "mic.wav", (1000.0,))}"\n'
                     f'audio_player = "alsa,null"\nmixer_control = ""\nallowed_callers = ["{desk.uri}"]\n'
                     f'targets.emergency = [{{ who = "duty", uri = "{desk.uri}" }}]\n')
            rec = Recorder(broker.port, [f"{PREFIX}/{HUB}/#"], client_id="bench-sip-sub")
            with hub_env(root, broker, HUB, extra=extra) as hub:
                if not rec.wait_online(HUB):
                    raise RuntimeError(f"hub never came online:\n{hub.log_tail(10)}")
                for _ in range(args.n):
                    mark = len(desk.events)
                    call_id = hub.sim("press", "--button", "17")["event_id"]
                    raised, _ = rec.wait(lambda m, cid=call_id: isinstance(m[2], dict) and m[2].get("id") == cid, 10)
                    got = desk.wait_timed("CALL_INCOMING", 15, after=mark)
                    if raised is None or got is None:
                        print("  a press never reached the desk:", hub.log_tail(5))
                        continue
                    pressed = datetime.fromisoformat(raised[2]["ts"]).timestamp()
                    invite.append(got[0] - pressed)
                    desk.on_call(got[1].call_id or "", "hangup")
                    rec.wait(lambda m, cid=call_id: isinstance(m[2], dict) and m[2].get("type") == "voice.ended"
                             and m[2]["data"]["trigger"] == cid, 10)
                    rec.client.publish(f"{PREFIX}/{HUB}/cmd/ack", json.dumps({"event_id": call_id}), qos=1)
                    rec.wait_event("call.acknowledged", 10, call_id=call_id)
                for _ in range(args.n):
                    mark = len(desk.events)
                    sent = time.time()
                    desk.command("dial", account)
                    got = desk.wait_timed("CALL_ESTABLISHED", 15, after=mark)
                    if got is None:
                        print("  a call-back was not answered:", hub.log_tail(5))
                        continue
                    answer.append(got[0] - sent)
                    desk.on_call(got[1].call_id or "", "hangup")
                    desk.wait_event("CALL_CLOSED", 10, after=mark)
        finally:
            if rec is not None:
                rec.close()
            desk.stop()
            broker.stop()
    print()
    print(f"{'':28}{'p50':>12}{'p90':>12}{'max':>12}   samples")
    print(row("press -> INVITE at desk", invite))
    print(row("call-back -> answered", answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
