"""`hub config check|defaults|example`."""

from __future__ import annotations

import argparse

from hub.cli.common import add_config_arg, load_config_or_exit
from hub.config.render import render


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="check a config file, or print the defaults / documented example")
    verbs = p.add_subparsers(dest="config_verb", metavar="check|defaults|example", required=True)
    check = verbs.add_parser("check", help="validate a config file (exit 2 naming the bad key)")
    add_config_arg(check)
    check.set_defaults(func=_check)
    verbs.add_parser("defaults", help="print every default (config/default.toml)").set_defaults(
        func=lambda a: print(render(documented=False), end="") or 0)
    verbs.add_parser("example", help="print every key documented (config/hub.example.toml)").set_defaults(
        func=lambda a: print(render(documented=True), end="") or 0)


def _check(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args)
    print(f"{config.path}: OK (hub {config.hub_id}, broker {config['mqtt']['host']}:{config['mqtt']['port']}, "
          f"{len(config['buttons'])} button(s))")
    return 0
