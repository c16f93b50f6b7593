"""`hub feedback list | revert ID`: the operator's verdicts on inactivity alarms stored on this unit, and
taking one back at the unit (the platform's way is `cmd/feedback_revert`; docs/detection.md "Learning
from the operator"). Asks the running hub over its control socket."""

from __future__ import annotations

import argparse
import json
import sys

from hub.cli.common import add_config_arg, load_config_or_exit
from hub.core.control import ControlError, request, socket_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feedback", help="operator verdicts on inactivity alarms: list, revert / 操作员反馈",
                       description="The verdicts (false_alarm, confirmed, missed) the platform sent about this "
                                   "home's inactivity alarms, and the factor they put on its limits.")
    add_config_arg(p)
    p.add_argument("action", choices=("list", "revert"))
    p.add_argument("feedback_id", nargs="?", help="revert: the feedback_id to take back")
    p.add_argument("--json", action="store_true", help="print the reply as JSON")
    p.set_defaults(func=feedback)


def feedback(args: argparse.Namespace) -> int:
    if args.action == "revert" and not args.feedback_id:
        print("hub feedback revert: name the feedback_id to take back (see 'hub feedback list')", file=sys.stderr)
        return 2
    config = load_config_or_exit(args)
    message = {"cmd": "inactivity.feedback", "action": args.action, "feedback_id": args.feedback_id}
    try:
        reply = request(socket_path(config.state_dir), message, timeout=10)
    except ControlError as exc:
        print(f"hub feedback: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(reply, ensure_ascii=False))
    elif not reply.get("ok"):
        print(f"not reverted: {reply.get('error')}")
    else:
        for e in reply.get("entries", []):
            print(f"{e['feedback_id']}  {e['verdict']:<11} {e.get('alarm_id') or e.get('at')}  x{e['factor']}"
                  f"  {e['received']}")
        print(f"this home's inactivity limits x{reply.get('scale')}")
    return 0 if reply.get("ok") else 1
