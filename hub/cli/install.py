"""`hub install`: install the hub as a systemd service on Raspberry Pi OS (run as root, from a checkout).

    sudo python3 -m hub install [--bundle bundle.json]     (or scripts/install.sh)
    hub install --root /tmp/pi --no-apt                    (files only, into a directory)
    hub install --dry-run                                  (show what would change)

Idempotent: a second run reports every step as already in place.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MARKS = {
    "ok": "✓ 已就绪 in place ",
    "done": "→ 已完成 done     ",
    "skipped": "· 未执行 not run  ",
    "would": "? 将执行 would do ",
}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "install",
        help="install as a systemd service (安装服务; root)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--root", metavar="DIR", default="/", help="install into DIR instead of / (files only)")
    p.add_argument(
        "--source",
        metavar="DIR",
        default=None,
        help="project checkout to install from (default: the one this command runs from)",
    )
    p.add_argument("--bundle", metavar="FILE", help="provision /etc/eldercare-hub/hub.toml from this bundle")
    p.add_argument("--no-apt", action="store_true", help="do not apt-get install the system packages")
    p.add_argument("--dry-run", action="store_true", help="change nothing; list what would be done")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hub.device.install import CONFIG_DIR, Installer, Outcome
    from hub.provision.bundle import BundleError
    from hub.provision.writer import install_bundle

    source = Path(args.source) if args.source else Path(__file__).resolve().parents[2]
    if not (source / "pyproject.toml").is_file() or not (source / "systemd").is_dir():
        print(f"不是项目目录 not a project checkout: {source} (pass --source DIR)", file=sys.stderr)
        return 2
    root = Path(args.root)
    live = root.resolve() == Path("/")
    if live and not args.dry_run and os.geteuid() != 0:
        print("需要 root 权限 run as root: sudo python3 -m hub install", file=sys.stderr)
        return 2
    installer = Installer(
        source,
        root,
        bundle=Path(args.bundle) if args.bundle else None,
        dry_run=args.dry_run,
        apt=not args.no_apt,
        apply_bundle=install_bundle,
    )

    def report(outcome: Outcome) -> None:
        print(f"{MARKS[outcome.state]} {outcome.title}", flush=True)

    try:
        outcomes = installer.execute(report)
    except BundleError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(
            f"安装失败 install step failed: {' '.join(map(str, exc.cmd))} exited {exc.returncode}",
            file=sys.stderr,
        )
        return 1
    changed = sum(o.state == "done" for o in outcomes)
    print(f"{changed} 项更改 changed, {sum(o.state == 'ok' for o in outcomes)} 项已就绪 already in place")
    if not args.dry_run:
        _label(installer.at(CONFIG_DIR / "hub.toml"))
    if live and not args.dry_run:
        print("下一步 next: hub provision (if not done), then hub selftest")
    return 0


def _label(config_path: Path) -> None:
    """The unit's label: made once, then only shown again (the secrets are what is printed on it)."""
    from hub.provision.web import label

    path = label.path_for(config_path)
    made = label.load(path) is None
    found = label.load_or_create(path)
    print(f"{'标签已生成 label made' if made else '标签 label'} ({path}): serial {found.serial}, set-up code "
          f"{found.setup_code}, hotspot password {found.hotspot_password} — print these on the unit's label")
