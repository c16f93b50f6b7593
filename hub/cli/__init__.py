"""`hub` command line: each verb group lives in its own module with `register(subparsers)`."""

from __future__ import annotations

import argparse
import difflib
import os
import select
import sys
from collections.abc import Sequence
from importlib import import_module

from hub import __version__

# Each module defines register(sub: argparse._SubParsersAction) and sets `func` on its parsers.
VERB_MODULES = [
    "hub.cli.run",
    "hub.cli.sim",
    "hub.cli.status",
    "hub.cli.console",
    "hub.cli.config_cmd",
    "hub.cli.provision",
    "hub.cli.install",
    "hub.cli.selftest",
    "hub.cli.eval",
    "hub.cli.ble",
    "hub.cli.voice",
    "hub.cli.update",
    "hub.cli.spoken",
    "hub.cli.report",
    "hub.cli.setup_mode",
    "hub.cli.zigbee",
    "hub.cli.feedback",
]


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """All verbs for help; for a known verb only its module, so `hub run` does not import the numeric
    stack of `hub eval` (the running hub's memory is a budget)."""
    parser = argparse.ArgumentParser(prog="hub", description="Eldercare home hub / 居家养老智能终端")
    parser.add_argument("--version", action="version", version=f"hub {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    wanted = [m for m in VERB_MODULES if verb is not None and m.rsplit(".", 1)[1] in _aliases(verb)]
    for name in wanted or VERB_MODULES:
        import_module(name).register(sub)
    return parser


def _unknown_verb(verb: str, parser: argparse.ArgumentParser) -> int:
    """A command no hub has (`hub staus`): the nearest one first, as `hub sim` does for its verbs."""
    names = [name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
             for name in action.choices]
    close = difflib.get_close_matches(verb, names, n=1)
    hint = f"; 是不是 did you mean 'hub {close[0]}'?" if close else ""
    print(f"hub: 未知命令 unknown command {verb!r}{hint}\n命令 commands: {', '.join(names)}", file=sys.stderr)
    return 2


def _aliases(verb: str) -> set[str]:
    return {verb, f"{verb}_cmd", verb.replace("-", "_")}


EXIT_PIPE = 141  # what a shell reports for a program stopped by SIGPIPE: `hub … | head` closed the pipe


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        verb = argv[0] if argv and not argv[0].startswith("-") else None
        parser = build_parser(verb)
        if verb is not None and not any(m.rsplit(".", 1)[1] in _aliases(verb) for m in VERB_MODULES):
            return _unknown_verb(verb, parser)
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # here, not at exit, where a closed pipe can only print a traceback
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if not _stdout_closed():
            raise  # a socket or a child's pipe: a real error
        # The reader went away (`hub config example | head`): nothing more to say, and no traceback.
        # SIGPIPE stays ignored (a default SIGPIPE would kill `hub run` on a closed socket).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (POLLERR on its write end)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
