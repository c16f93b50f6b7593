"""`hub setup-mode start|stop|status`: the installer's set-up page on the running hub (docs/install.md)."""

from __future__ import annotations

import argparse
import json
import sys

from hub.cli.common import add_config_arg, load_config_or_exit
from hub.core.control import ControlError, request, socket_path
from hub.provision.web.label import path_for as label_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup-mode", help="安装模式：热点和设置网页 / set-up mode: hotspot and set-up page",
                       description="Open (start), close (stop) or show (status) the set-up page on the unit's own "
                                   "hotspot. The set-up code and hotspot password are on the unit's label "
                                   "(label.toml beside the config). 打开/关闭安装模式。")
    add_config_arg(p)
    p.add_argument("action", choices=("start", "stop", "status"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=setup_mode)


def setup_mode(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args)
    try:
        reply = request(socket_path(config.state_dir), {"cmd": f"setup.{args.action}"}, timeout=90)
    except ControlError as exc:
        print(f"安装模式 set-up mode: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(reply, ensure_ascii=False))
    elif reply.get("on"):
        minutes = round((reply.get("seconds_left") or 0) / 60)
        if reply.get("ssid"):
            print(f"安装模式已开启 set-up mode on: Wi-Fi {reply['ssid']}, open {reply['url']} "
                  f"(set-up code and hotspot password: on the label); ends in {minutes} min")
        else:  # [setup_mode] hotspot = false (the demo, a unit on a wired network): no Wi-Fi to join
            print("安装模式已开启 set-up mode on, 无热点 no hotspot ([setup_mode] hotspot = false): "
                  f"open {reply['url']} (set-up code: on the label, setup_code in {label_path(config.path)}); "
                  f"ends in {minutes} min")
    elif reply.get("applying_saved_config"):
        print("安装模式已关闭 set-up mode off; 已保存的配置现在生效 the configuration saved on the page takes effect "
              "now: 终端重启 the hub restarts on it")
    else:
        print("安装模式已关闭 set-up mode off")
    return 0
