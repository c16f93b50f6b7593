"""Helpers shared by the CLI verbs: the --config option and loading it with the exit code contract."""

from __future__ import annotations

import argparse
import sys

from hub.config.loader import Config, ConfigError, load, resolve_path

EXIT_CONFIG = 2


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH",
                        help="config file (default: $HUB_CONFIG or /etc/eldercare-hub/hub.toml)")


def load_config_or_exit(args: argparse.Namespace) -> Config:
    try:
        return load(resolve_path(getattr(args, "config", None)))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
