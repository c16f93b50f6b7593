#!/bin/sh
# Install the eldercare hub on Raspberry Pi OS from this checkout. Safe to run again.
#   sudo scripts/install.sh [--bundle bundle.json] [--dry-run]
# Everything is done by `hub install` (hub/device/install.py); this only finds Python and the checkout.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ] && [ "${1:-}" != "--dry-run" ]; then
    echo "需要 root 权限 run as root: sudo $0 $*" >&2
    exit 2
fi
command -v python3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y python3; }
cd "$here"
exec python3 -c 'import sys; sys.path.insert(0, "."); from hub.cli import main; sys.exit(main(["install", *sys.argv[1:]]))' "$@"
