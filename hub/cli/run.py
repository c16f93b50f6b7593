"""`hub run [--simulate]`: run the hub until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from hub.cli.common import EXIT_CONFIG, add_config_arg, load_config_or_exit

log = logging.getLogger("hub")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="运行终端 run the hub (as the systemd service does)")
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
    from hub.config.environment import check_environment

    problems = check_environment(config)
    for problem in problems:
        # To the journal; an installer mistake stops here with exit 2, which the unit does not restart.
        (log.critical if problem.fatal else log.error)("%s", problem)
    if any(p.fatal for p in problems):
        log.critical("not starting: fix the above, then `systemctl restart eldercare-hub` (checked by "
                     "`hub config check --config %s`)", config.path)
        return EXIT_CONFIG
    from hub.core import memory
    from hub.core.app import Hub
    from hub.core.simulation import real_hardware, simulated_hardware

    memory.one_arena()  # before the worker threads start (hub.core.memory)

    try:
        hardware = simulated_hardware() if args.simulate else real_hardware()
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    asyncio.run(Hub(config, hardware).run())
    return 0
