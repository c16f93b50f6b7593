"""How much of the time the unit talks while calls stay open and nobody answers (issue #20; goal <= 20 %).

The hub's real code runs in-process on the tests' virtual clock (tests/virtual_time.py, tests/scenario.py)
with a private mosquitto, real espeak-ng WAVs and a player that takes each WAV's real length, so ten
minutes take well under a minute and the timings are exact. The resident presses N call buttons 3 s
apart; nobody acknowledges (or, with --ack-at S, the second call is acknowledged by SMS S seconds in).
Prints the share of the window during which a prompt or chime was playing, the number of reminders,
and what they said. Asserts nothing.

    python bench/talk_share.py [--calls 3] [--minutes 10] [--ack-at 240] [--keep]
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

from _common import scratch, start_broker
from scenario import Scenario

KINDS = ("emergency", "health", "service", "family")
PINS = (17, 27, 22, 23)
GOAL = 0.20


def measure(root: Path, calls: int, minutes: float, ack_at: float | None) -> None:
    broker = start_broker(root)
    try:
        buttons = [{"pin": pin, "kind": kind} for pin, kind in zip(PINS[:calls], KINDS, strict=False)]
        s = Scenario(root, broker, buttons=buttons)
        window = minutes * 60.0
        ids: list[str] = []

        async def body(s: Scenario) -> None:
            for pin in PINS[:calls]:
                ids.append((await s.press(pin))["event_id"])
                await s.quiet(3)
            waited = 3.0 * calls
            if ack_at is not None and len(ids) > 1:
                await s.quiet(max(0.0, ack_at - waited))
                await s.hub.alarms.ack(ids[1], "+8613800000000", "1", named=False, via="sms")
                waited = max(waited, ack_at)
            await s.quiet(window - waited)

        s.run(body)
    finally:
        broker.kill()
    spoken = s.spoken()
    busy = sum(max(0.0, min(u["end"], window) - max(u["start"], 0.0)) for u in spoken)
    share = busy / window
    reminders = [u for u in spoken if u["key"] == "alarm_reminder"]
    print(f"{calls} open calls, {minutes:g} min" + (f", call 2 acknowledged by SMS at {ack_at:g} s" if ack_at else ""))
    print(f"  talking {busy:.1f} s of {window:.0f} s = {share:.1%} (goal <= {GOAL:.0%}): "
          f"{'met' if share <= GOAL else 'MISSED'}")
    print(f"  prompts: {dict(Counter(u['key'] for u in spoken))}")
    starts = ", ".join(f"{u['start']:.0f} s" for u in reminders)
    print(f"  reminders at: {starts}")
    for text in dict.fromkeys(u["text"] for u in reminders):
        print(f"    {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--calls", type=int, default=3, choices=range(1, 5))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--ack-at", type=float, default=None, help="acknowledge call 2 by SMS at this second")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with scratch(args.keep) as root:
        measure(root, args.calls, args.minutes, args.ack_at)


if __name__ == "__main__":
    main()
