"""`hub config check|defaults|example|apply`."""

from __future__ import annotations

import argparse
import sys

from hub.cli.common import EXIT_CONFIG, add_config_arg, load_config_or_exit
from hub.config.loader import Config
from hub.config.render import render


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="检查配置 check a config file, apply a change held for a technician, "
                                      "or print the defaults / example")
    verbs = p.add_subparsers(dest="config_verb", metavar="check|defaults|example|apply", required=True)
    check = verbs.add_parser("check", help="validate a config file, its TLS files and state dir (exit 2)")
    add_config_arg(check)
    check.add_argument("file", nargs="?", metavar="FILE",  # `hub config check hub.toml`, as installers type it
                       help="the config file to check (the same as --config FILE)")
    check.set_defaults(func=_check)
    verbs.add_parser("defaults", help="print every default (config/default.toml)").set_defaults(
        func=lambda a: print(render(documented=False), end="") or 0)
    verbs.add_parser("example", help="print every key documented (config/hub.example.toml)").set_defaults(
        func=lambda a: print(render(documented=True), end="") or 0)
    apply = verbs.add_parser("apply", help="technician at the unit: apply the platform's config that changes "
                                           "buttons or pins (held for local confirmation)")
    add_config_arg(apply)
    apply.add_argument("--show", action="store_true", help="only show what is waiting")
    apply.set_defaults(func=_apply)


def _apply(args: argparse.Namespace) -> int:
    """Confirm the held document through the running hub, which applies it like any other (journal,
    restart once no alarm is open, rollback if the broker is not reached)."""
    from hub.core.control import ControlError, request, socket_path

    config = load_config_or_exit(args)
    try:
        held = request(socket_path(config.state_dir), {"cmd": "remote_config.apply", "show": args.show})
    except (ControlError, OSError, ValueError) as exc:
        print(f"无法应用 cannot apply: {exc}", file=sys.stderr)
        return 1
    keys = ", ".join(held["confirm"])
    if args.show:
        print(f"等待确认 waiting: config version {held['version']} from the platform changes {keys}; check the "
              "wiring, then run `hub config apply`")
    else:
        print(f"已确认 confirmed: config version {held['version']} ({keys}); the hub restarts on it once no alarm "
              "is open: press each button afterwards (`hub status` shows the config version)")
    return 0


def _check(args: argparse.Namespace) -> int:
    if args.file and args.config and args.file != args.config:
        print(f"hub config check: two files given ({args.file} and --config {args.config}): give one",
              file=sys.stderr)
        return EXIT_CONFIG
    args.config = args.config or args.file
    config = load_config_or_exit(args)
    from hub.config.environment import check_environment

    problems = check_environment(config, create=False)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    print(f"{config.path}: OK (hub {config.hub_id}, broker {config['mqtt']['host']}:{config['mqtt']['port']}, "
          f"{len(config['buttons'])} button(s), state_dir {config.state_dir})")
    _certificate(config)
    return 0


def _certificate(config: Config) -> None:
    """The client certificate's expiry: a line when it is due for renewal, with the remedy."""
    from hub.certificates.x509 import describe

    info = describe(config)
    if info is None:
        return
    if info["state"] == "unreadable":
        print(f"{info['path']}: mqtt.tls.cert: not a certificate ({info['detail']}): check the file", file=sys.stderr)
    elif info["state"] == "ok":
        print(f"certificate {info['subject']}: {info['days_left']:.0f} days left (until {info['not_after'][:10]})")
    else:
        print(f"{info['path']}: mqtt.tls.cert: {info['state']} ({info['days_left']:.0f} days left, until "
              f"{info['not_after'][:10]}): {info['remedy']}", file=sys.stderr)
