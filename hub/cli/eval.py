"""`hub eval WHAT ...`: measure a detector on recorded data, offline (no running hub needed).

Each evaluation lives in its own module with `register(sub)` adding its subcommand under `hub eval`;
list it in EVAL_MODULES. A module that is not there yet is skipped, so the verb works meanwhile.
"""

from __future__ import annotations

import argparse
from importlib import import_module
from importlib.util import find_spec

EVAL_MODULES = [
    "hub.detect.evaluation.falls",
    "hub.detect.evaluation.inactivity",
]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="评估检测算法 measure a detector on recorded data (fall, inactivity)",
                       description="Runs a detector over a recorded dataset and prints its figures.")
    what = p.add_subparsers(dest="eval_what", metavar="WHAT")
    for name in EVAL_MODULES:
        if find_spec(name) is not None:
            import_module(name).register(what)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
