"""`hub provision`: write this hub's config from the platform's bundle, or ask the installer step by step.

    hub provision --bundle bundle.json --config /etc/eldercare-hub/hub.toml
    hub provision --qr-text 'EHUB1:...'        (text a phone/scanner read from the QR code)
    hub provision --qr-image photo.png         (needs zbarimg: apt-get install zbar-tools)
    hub provision                              (interactive wizard, 中文/English)

Exit 0 when written, 2 when the bundle or an answer is refused (the message names the field).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hub.config.loader import resolve_path

EXIT_REFUSED = 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "provision",
        help="write the config from a bundle/QR code or the wizard (安装配置)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--bundle", metavar="FILE", help="provisioning bundle JSON from the platform")
    src.add_argument("--qr-text", metavar="TEXT", help="the scanned text of a bundle QR code")
    src.add_argument("--qr-image", metavar="IMAGE", help="a photo/scan of the bundle QR code")
    p.add_argument(
        "--config",
        metavar="OUT",
        help="config file to write (default: $HUB_CONFIG or /etc/eldercare-hub/hub.toml)",
    )
    p.add_argument(
        "--state-dir",
        metavar="DIR",
        default=None,
        help="hub state directory to write into the config (default /var/lib/eldercare-hub)",
    )
    p.add_argument(
        "--simulate",
        action="store_true",
        help="wizard: pair and live-check against the simulated hardware (hub run --simulate)",
    )
    p.add_argument("--skip-live-check", action="store_true", help="wizard: do not run the live check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hub.provision import writer
    from hub.provision.bundle import BundleError, load_file, load_qr_image, parse_text

    out = resolve_path(args.config)
    state_dir = args.state_dir or writer.DEFAULT_STATE_DIR
    if not (args.bundle or args.qr_text or args.qr_image):
        from hub.provision.wizard import run_wizard

        if not sys.stdin.isatty():
            print("没有配置包也没有终端 no bundle given and no terminal for the wizard: pass --bundle FILE, "
                  "--qr-text or --qr-image", file=sys.stderr)
            return EXIT_REFUSED
        return run_wizard(
            out, state_dir=state_dir, simulate=args.simulate, live_check=not args.skip_live_check
        )
    try:
        if args.bundle:
            bundle = load_file(Path(args.bundle))
        elif args.qr_text:
            bundle = parse_text(args.qr_text)
        else:
            bundle = load_qr_image(Path(args.qr_image))
        rendered = writer.render(bundle, out, state_dir=str(Path(state_dir).resolve()))
        replaced = out.exists()
        written = writer.write(rendered, out)
        writer.write_record(out, "bundle", rendered.fitted, None)
    except BundleError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"无法写入配置 cannot write the config: {exc}", file=sys.stderr)
        return 1
    print(f"已写入配置 config written: {out} (mode {writer.kept_words(out, replaced)})")
    for path in written[:-1]:
        print(f"  + {path}")
    print(
        f"  hub id {bundle['hub']['id']}, broker {bundle['broker']['host']}:{bundle['broker']['port']}, "
        f"fitted: {', '.join(sorted(rendered.fitted))}"
    )
    print("下一步 next: systemctl restart eldercare-hub; hub selftest")
    return 0
