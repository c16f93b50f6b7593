"""`hub sim VERB ...`: drive the simulated hardware of a running `hub run --simulate`."""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import sys

from hub.cli.common import EXIT_CONFIG, add_config_arg, load_config_or_exit
from hub.cli.sim_verbs import VERBS, overview, parser
from hub.core.control import NOT_FITTED, ControlError, ControlUsageError, request, socket_path

EXIT_USAGE = 2  # a command-line mistake, as argparse exits for the CLI's own arguments
REPLY_TIMEOUT_S = 180.0  # a verb's answer; a held press adds its hold
# Verbs a hub registers only when the part is in its config: what to add when it says it has no such verb.
NEEDS = {"modem": "[modem] port", "zigbee": "[zigbee] enabled = true", "door": "[[doors]]", "mat": "[[mats]]",
         "fall": "the wearable's address as [fall] wearable_address",
         "radar": "the radar's serial port as [fall] radar_port", "pendant": "[[triggers]]"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="驱动模拟硬件 drive the simulation: press, motion, smoke, temperature, ...",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="驱动模拟硬件 Sends VERB and its arguments to the running simulated hub (found "
                                   "through the same --config). Example: hub sim press --button 17\n"
                                   "`hub sim VERB --help` shows a verb's arguments (no hub needed).\n\n"
                                   "verbs:\n" + overview())
    add_config_arg(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出 print the hub's answer as JSON")
    p.add_argument("verb", help="模拟动作 " + ", ".join(VERBS))
    p.add_argument("args", nargs=argparse.REMAINDER, help="动作的参数 arguments of the verb")
    p.set_defaults(func=sim)


def _wants_help(argv: list[str]) -> bool:
    """-h/--help among the verb's own arguments (not as the text of an SMS after `modem sms FROM`)."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    if words[:1] == ["sms"]:
        words = words[:1]
    return any(w in ("-h", "--help") for w in words)


def unknown_verb(verb: str) -> int:
    """A verb no hub has (a typo): the nearest one, and the list, without asking the hub."""
    close = difflib.get_close_matches(verb, VERBS, n=1)
    hint = f"; 是不是 did you mean 'hub sim {close[0]}'?" if close else ""
    print(f"hub sim: 未知动作 unknown verb {verb!r}{hint}\nverbs:\n{overview()}", file=sys.stderr)
    return EXIT_CONFIG


def local_help(verb: str, argv: list[str]) -> int:
    """`hub sim VERB --help`, answered here: no config, no running hub."""
    if verb not in VERBS:
        return unknown_verb(verb)
    p = parser(verb)
    if verb == "modem" and argv and argv[0] in _subcommands(p):  # `hub sim modem callee --help`
        print(_subcommands(p)[argv[0]].format_help().rstrip())
    else:
        print(p.format_help().rstrip())
    return 0


def _subcommands(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def reply_timeout(verb: str, argv: list[str]) -> float:
    """How long to wait for the hub's answer: a press held for S seconds answers after them."""
    if verb != "press":
        return REPLY_TIMEOUT_S
    given = [b for a, b in itertools.pairwise(argv) if a == "--hold"]
    given += [a.removeprefix("--hold=") for a in argv if a.startswith("--hold=")]
    try:
        hold = max([0.0, *(float(value) for value in given)])
    except ValueError:
        hold = 0.0  # the hub refuses it and says why
    return REPLY_TIMEOUT_S + hold


def sim(args: argparse.Namespace) -> int:
    argv = list(args.args)
    if args.verb == "help":
        print(f"verbs:\n{overview()}")
        return 0
    if _wants_help(argv):
        return local_help(args.verb, [a for a in argv if a not in ("-h", "--help")])
    if args.verb not in VERBS:
        return unknown_verb(args.verb)
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
                         timeout=reply_timeout(args.verb, argv))
    except ControlError as exc:
        text = str(exc).removeprefix(f"hub sim {args.verb}: ")  # a verb's own message may name itself already
        if text.startswith("unknown sim verb"):  # a verb of a part this hub's config does not have
            text = (f"{NOT_FITTED}: {VERBS[args.verb][0]}; 检查配置 add "
                    f"{NEEDS.get(args.verb, 'its part')} to {config.path} and restart the hub")
        print(f"hub sim {args.verb}: {text}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ControlUsageError) else 1
    if set(result) == {"help"}:  # `hub sim VERB --help`
        print(result["help"].rstrip())
    elif args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_result(result)
    return 0


def print_result(result: dict) -> None:
    """The hub's answer as indented `key: value` lines, like `hub status` (`--json` has it raw)."""
    from hub.cli.status import readable

    keys = sorted(result, key=lambda k: (k != "event_id", k))
    for key in keys:
        print("\n".join(readable(key, result[key])))
