"""`hub sim VERB ...`: drive the simulated hardware of a running `hub run --simulate`."""

from __future__ import annotations

import argparse
import json
import sys

from hub.cli.common import add_config_arg, load_config_or_exit
from hub.core.control import ControlError, request, socket_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="drive the simulation: press, motion, smoke, temperature, ...",
                       description="Sends VERB and its arguments to the running simulated hub "
                                   "(found through the same --config). Example: hub sim press --button 17")
    add_config_arg(p)
    p.add_argument("--json", action="store_true", help="print the hub's answer as JSON")
    p.add_argument("verb", help="press, motion, smoke, temperature, humidity, power, fault, bp, glucose, ...")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the verb")
    p.set_defaults(func=sim)


def sim(args: argparse.Namespace) -> int:
    argv = list(args.args)
    # --config/--json may also come after the verb's own arguments.
    for flag in ("--config",):
        if flag in argv:
            i = argv.index(flag)
            if i + 1 < len(argv):
                args.config = argv[i + 1]
                del argv[i:i + 2]
    if "--json" in argv:
        argv.remove("--json")
        args.json = True
    config = load_config_or_exit(args)
    try:
        result = request(socket_path(config.state_dir), {"cmd": "sim", "verb": args.verb, "argv": argv},
                         timeout=180)
    except ControlError as exc:
        print(f"hub sim {args.verb}: {exc}", file=sys.stderr)
        return 1
    if set(result) == {"help"}:  # `hub sim VERB --help`
        print(result["help"].rstrip())
    elif args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_result(result)
    return 0


def print_result(result: dict) -> None:
    keys = sorted(result, key=lambda k: (k != "event_id", k))
    for key in keys:
        value = result[key]
        print(f"{key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value}")
