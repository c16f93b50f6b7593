"""The cellular second path's latency, with the broker stopped: alarm -> SMS handed to the modem, and
alarm -> the voice call's ATD at the modem.

A `hub run --simulate` with the EC25-class modem model on a real pty (reached through pyserial, as on
a Pi) and a private mosquitto that is stopped before the presses. Each press raises an emergency call
that cannot reach the platform; after `[modem] sms_after_s` it is texted to the duty number, and the
voice-call chain rings the duty number (a `tel:` target) by the modem at once. The duty officer's
phone is busy, so the chain ends at once; the SMS reply "1" acknowledges the call before the next
press. Each figure starts at the call.raised event's `ts` (the button's first edge, stamped by the
hub), read from the hub's outbox, where the events wait for the broker:

- press -> SMS at the modem: to the moment the modem model accepted the text (+CMGS), printed with
  `sms_after_s` taken off (what the hub adds to the wait it was configured to make).
- press -> ATD at the modem: to the moment the modem model took `ATD<number>;`.

Figures only, nothing asserted. Run: python bench/cellular_latency.py [--n 10]
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PREFIX, Recorder, bench_args, hub_env, load_line, percentile, scratch, start_broker

HUB = "bench-cell"
DUTY = "+8613800138000"
SMS_AFTER_S = 5


def row(name: str, xs: list[float]) -> str:
    if not xs:
        return f"{name:34} no samples"
    return (f"{name:34}{statistics.median(xs) * 1000:9.1f} ms{percentile(xs, 0.9) * 1000:9.1f} ms"
            f"{max(xs) * 1000:9.1f} ms   {len(xs)}")


def wait(check, timeout: float):  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    return None


def main() -> int:
    args = bench_args(__doc__, 10).parse_args()
    print(f"Cellular path, broker stopped: {args.n} presses (each waits sms_after_s = {SMS_AFTER_S} s); {load_line()}")
    sms_at: dict[str, float] = {}
    atd_at: dict[str, float] = {}
    with scratch(args.keep) as root:
        broker = start_broker(root)
        rec = None
        extra = (f'[modem]\nport = "/dev/ttyUSB2"\nsms_numbers = ["{DUTY}"]\nsms_after_s = {SMS_AFTER_S}\n'
                 f'[voice_call]\ntargets.emergency = [{{ who = "duty", uri = "tel:{DUTY}", timeout_s = 10 }}]\n')
        try:
            rec = Recorder(broker.port, [f"{PREFIX}/{HUB}/#"], client_id="bench-cell-sub")
            with hub_env(root, broker, HUB, extra=extra) as hub:
                if not rec.wait_online(HUB):
                    raise RuntimeError(f"hub never came online:\n{hub.log_tail(10)}")
                if not wait(lambda: (hub.status().get("cellular") or {}).get("dtmf"), 20):
                    raise RuntimeError(f"modem never set up:\n{hub.status().get('cellular')}")
                hub.sim("modem", "callee", DUTY, "busy")
                broker.stop()
                for _ in range(args.n):
                    sent_before = len(hub.sim("modem", "status")["sent"])
                    call_id = hub.sim("press", "--button", "17")["event_id"]
                    sent = wait(lambda n=sent_before: (s := hub.sim("modem", "status")["sent"])[n:] and s[n], 30)
                    calls = wait(lambda: [c for c in hub.sim("modem", "status")["calls"] if c["ended"] == "busy"
                                          and c["at"] not in atd_at.values()], 10)
                    if not sent:
                        print("  no SMS:", hub.log_tail(5))
                        continue
                    sms_at[call_id] = sent["at"]
                    if calls:
                        atd_at[call_id] = calls[-1]["at"]
                    hub.sim("modem", "sms", DUTY, "1")
                    if not wait(lambda: hub.status()["open_calls"] == [], 15):
                        print("  the reply did not acknowledge:", hub.log_tail(5))
                pressed = _queued_presses(hub.state_dir / "outbox.db")
        finally:
            if rec is not None:
                rec.close()
            broker.stop()
    sms = [sms_at[c] - pressed[c] - SMS_AFTER_S for c in pressed]
    atd = [atd_at[c] - pressed[c] for c in pressed if c in atd_at]
    print()
    print(f"{'':34}{'p50':>12}{'p90':>12}{'max':>12}   samples")
    print(row("press -> SMS at modem - sms_after_s", sms))
    print(row("press -> ATD at modem", atd))
    return 0


def _queued_presses(db: Path) -> dict[str, float]:
    """call.raised id -> its `ts`, from the outbox rows still waiting for the broker."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT id, payload FROM queue WHERE type = 'call.raised'").fetchall()
    return {event_id: datetime.fromisoformat(json.loads(payload)["ts"]).timestamp() for event_id, payload in rows}


if __name__ == "__main__":
    sys.exit(main())
