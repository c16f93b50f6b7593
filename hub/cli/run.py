"""`hub run [--simulate]`: run the hub until SIGTERM."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from hub.cli.common import EXIT_CONFIG, add_config_arg
from hub.core import lightweight

if TYPE_CHECKING:
    from hub.config.loader import Config

log = logging.getLogger("hub")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="运行终端 run the hub (as the systemd service does)")
    add_config_arg(p)
    p.add_argument("--simulate", action="store_true",
                   help="a GPIO chip model, fake I2C/UART/BLE peers; a real broker (for demos and tests)")
    p.set_defaults(func=run)


def setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level, logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run(args: argparse.Namespace) -> int:
    lightweight.defer("urllib.request")  # paho's, for a SOCKS proxy this hub never uses (hub.core.lightweight)
    first = _first_boot(args)
    if first is not None:
        return first
    config = _load_once(args)
    if config is None:
        return EXIT_CONFIG
    if config["mqtt"].get("tls"):
        lightweight.openssl()  # (already loaded: the file said so too)
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
    import asyncio

    from hub.core import memory
    from hub.core.app import Hub
    from hub.core.simulation import real_hardware, simulated_hardware

    memory.one_arena()  # before the worker threads start (hub.core.memory)
    memory.steady_thresholds()

    try:
        hardware = simulated_hardware() if args.simulate else real_hardware()
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    asyncio.run(Hub(config, hardware).run())
    return 0


def _load_once(args: argparse.Namespace) -> Config | None:
    """The config, read once. A hub whose [mqtt] has no tls never loads OpenSSL: ~4.6 MB of a 32 MB
    budget (hub.core.lightweight, tests/test_lightweight.py), decided from the file as written, before
    its validation imports the capabilities' schemas (and with them asyncio and hashlib). None: the
    file is wrong, and stderr says how."""
    from hub.config.loader import Config, ConfigError, read, resolve_path, validate

    path = resolve_path(getattr(args, "config", None))
    try:
        raw = read(path)
        mqtt = raw.get("mqtt")
        if not (isinstance(mqtt, dict) and mqtt.get("tls")):
            lightweight.without_openssl()
        return Config(path, validate(raw, path))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return None


def _first_boot(args: argparse.Namespace) -> int | None:
    """No config yet, on a unit prepared by `hub install` (it has its label): set-up mode alone, until the
    installer saves one (hub.provision.web.first_boot). Elsewhere a missing config is the usual error."""
    from hub.config.loader import resolve_path
    from hub.provision.web import label

    path = resolve_path(getattr(args, "config", None))
    if path.exists():
        return None
    try:
        found = label.load(label.path_for(path))
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    if found is None:
        return None
    setup_logging("INFO")
    import asyncio

    from hub.provision.web.first_boot import serve_until_provisioned

    return asyncio.run(serve_until_provisioned(path, found))
