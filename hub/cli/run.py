"""`hub run [--simulate]`: run the hub until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from hub.cli.common import add_config_arg, load_config_or_exit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the hub (as the systemd service does)")
    add_config_arg(p)
    p.add_argument("--simulate", action="store_true",
                   help="mock GPIO, fake I2C/UART/BLE peers; a real broker (for demos and tests)")
    p.set_defaults(func=run)


def setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level, logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args)
    setup_logging(config["hub"]["log_level"])
    from hub.core.app import Hub
    from hub.core.simulation import real_hardware, simulated_hardware

    try:
        hardware = simulated_hardware() if args.simulate else real_hardware()
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    asyncio.run(Hub(config, hardware).run())
    return 0
