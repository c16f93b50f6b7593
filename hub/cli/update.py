"""`hub update`: install a signed release from a file (technicians, offline), and the platform team's
tools to make release keys and sign releases.

    sudo -u eldercare hub update --from eldercare_hub-0.2.0-py3-none-any.whl
        the release file beside it (`….whl.release.json`, written by `hub update sign`) says version,
        sha256 and signature; verified against [update] public_key, installed beside the running
        version; the running hub switches to it once no call or alarm is open (a stopped hub is
        switched now: start the service). The new version is checked (broker + self-test) and
        switched back if it fails.
    hub update sign --key release-key.pem FILE.whl [--url URL] [--downgrade-from VERSION]
                                                                 (platform team, never on a hub)
    hub update keygen --out DIR                                  (platform team, once)

Only a version newer than the installed one is installed (anti-rollback); an older one only when its
release is signed with `--downgrade-from` naming the installed version (docs/fleet.md "Threat model").

Exit codes: 0 verified and installed (the switch follows); 1 refused, nothing changed (digest,
signature, wrong or older version, install failed); 2 usage or config error (no release key, file missing).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from hub.cli.common import EXIT_CONFIG, add_config_arg, load_config_or_exit

EXIT_REFUSED = 1


def register(sub: Any) -> None:
    p = sub.add_parser("update", help="install a signed release from a file (升级)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arg(p)
    p.add_argument("--from", dest="artifact", metavar="FILE", help="the release wheel")
    p.add_argument("--release", metavar="JSON", help="its release file (default: FILE.release.json)")
    p.set_defaults(func=run)
    tools = p.add_subparsers(dest="tool", metavar="TOOL")
    s = tools.add_parser("sign", help="sign a release wheel (platform team)")
    s.add_argument("--key", required=True, help="the Ed25519 private key (PEM)")
    s.add_argument("--url", default="", help="where hubs will download it (https://…)")
    s.add_argument("--downgrade-from", default="", metavar="VERSION",
                   help="sign an explicit downgrade: hubs running exactly VERSION may install this older release")
    s.add_argument("wheel")
    s.set_defaults(func=sign)
    k = tools.add_parser("keygen", help="make a release key pair (platform team, once)")
    k.add_argument("--out", required=True, help="directory for release-key.pem and release-key.pub")
    k.set_defaults(func=keygen)
    g = tools.add_parser("guard", help="the boot guard (the unit's ExecStartPre; stdlib only)")
    g.add_argument("root", help="the update root, e.g. /opt/eldercare-hub/releases")
    g.set_defaults(func=guard)


def run(args: argparse.Namespace) -> int:
    if not args.artifact:
        print("hub update --from FILE (see `hub update --help`)", file=sys.stderr)
        return EXIT_CONFIG
    from hub.update.release import Release, UpdateError

    if _service_user_exists() and os.geteuid() == 0:
        print("请以服务用户运行 run it as the service user, so that the files it installs are the service's: "
              f"sudo -u eldercare hub update --from {args.artifact}", file=sys.stderr)
        return EXIT_CONFIG
    config = load_config_or_exit(args)
    artifact = Path(args.artifact)
    release_path = Path(args.release) if args.release else artifact.with_name(artifact.name + ".release.json")
    if not artifact.is_file():
        print(f"找不到文件 not found: {artifact}", file=sys.stderr)
        return EXIT_CONFIG
    key = config["update"]["public_key"]
    if not key:
        print(f"无法校验 cannot verify: [update] public_key is empty in {config.path}; provision the "
              "platform's release key first (docs/fleet.md)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        release = Release.load(release_path)
    except UpdateError as exc:
        print(f"发布文件错误 release file: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"版本 version {release.version} from {artifact.name}")
    try:
        release.admissible(_installed(config))
        release.check(artifact, key)
    except (OSError, UpdateError) as exc:
        print(f"✗ 拒绝 refused, nothing changed: {exc}", file=sys.stderr)
        if isinstance(exc, UpdateError) and exc.remedy:
            print(f"  处理 remedy: {exc.remedy}", file=sys.stderr)
        return EXIT_REFUSED
    print("✓ 校验通过 verified: sha256 and the release signature match")
    body = {"version": release.version, "sha256": release.sha256, "signature": release.signature,
            "size": release.size, "downgrade_from": release.downgrade_from, "path": str(artifact.resolve())}
    answer = _ask_running_hub(config.state_dir, body)
    if answer is not None:
        if not answer.get("ok"):
            print(f"✗ 安装失败 install failed, nothing changed: {answer.get('reason')}", file=sys.stderr)
            return EXIT_REFUSED
        waiting = answer.get("waiting_for") or []
        print(f"✓ 已安装 installed {release.version} beside the running version")
        print(("→ 等待 waits for the open " + ", ".join(waiting) + " to close, then " if waiting else "→ now ")
              + "the hub restarts into it; it must connect and pass the self-test or it is switched back "
              "(watch `hub status`)")
        return 0
    return _offline(config, release, artifact)


def _installed(config: Any) -> str:
    """The version `current` runs (what a stopped hub would start), else this program's."""
    from hub import __version__
    from hub.update.layout import Releases, venv_version

    releases = Releases(Path(config["update"]["root"]))
    target = releases.target(releases.current)
    return (venv_version(releases.root / target) if target else "") or __version__


def _service_user_exists() -> bool:
    import pwd

    try:
        pwd.getpwnam("eldercare")
        return True
    except KeyError:
        return False


def _ask_running_hub(state_dir: Path, body: dict[str, Any]) -> dict[str, Any] | None:
    from hub.core.control import ControlError, request, socket_path

    sock = socket_path(state_dir)
    if not sock.exists():
        return None
    try:
        return request(sock, {"cmd": "update.install", **body}, timeout=900)
    except (ControlError, OSError, ValueError) as exc:
        print(f"(the hub does not answer on {sock}: {exc}; installing with the hub stopped)")
        return None


def _offline(config: Any, release: Any, artifact: Path) -> int:
    from hub import __version__
    from hub.update.install import InstallError, install
    from hub.update.layout import Releases

    section = config["update"]
    releases = Releases(Path(section["root"]))
    if not releases.current.is_symlink():
        print(f"无法切换 cannot switch: {releases.current} is not a link; this unit's update root is not set "
              "up (`sudo hub install` makes it; [update] root in the config)", file=sys.stderr)
        return EXIT_CONFIG
    print(f"安装中 installing into {releases.venv(release.version)} (the hub is not running) …")
    releases.write_pending(release.version, "installing")  # a kill now: the hub's next start reports `interrupted`
    try:
        install(artifact, releases.venv(release.version), Path(section["base_venv"]))
    except (OSError, InstallError) as exc:
        releases.clear_pending()
        print(f"✗ 安装失败 install failed, nothing changed: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    releases.begin_trial(release.version, __version__, float(section["health_timeout_s"]), int(section["max_starts"]))
    releases.clear_pending()
    print(f"✓ 已切换 switched to {release.version} ({__version__} kept as `previous`). Start the service "
          "(`systemctl start eldercare-hub`): it must connect and pass the self-test within "
          f"{section['health_timeout_s']} s or it is switched back to {__version__}.")
    return 0


def sign(args: argparse.Namespace) -> int:
    from hub.update.download import sha256_of
    from hub.update.install import InstallError, wheel_version
    from hub.update.signing import sign as make_signature
    from hub.update.versions import compare, is_version

    wheel = Path(args.wheel)
    try:
        version = wheel_version(wheel)
    except (OSError, InstallError) as exc:
        print(f"not a release wheel: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    digest, size = sha256_of(wheel), wheel.stat().st_size
    down = args.downgrade_from
    if down and not (is_version(down) and is_version(version) and compare(version, down) < 0):
        print(f"--downgrade-from {down!r}: must be a release version newer than this wheel's {version}",
              file=sys.stderr)
        return EXIT_CONFIG
    release: dict[str, Any] = {"version": version, "sha256": digest, "size": size,
                               "signature": make_signature(Path(args.key).read_bytes(), version, digest, size, down)}
    if down:
        release["downgrade_from"] = down
    if args.url:
        release["url"] = args.url
    out = wheel.with_name(wheel.name + ".release.json")
    out.write_text(json.dumps(release, indent=1) + "\n")
    print(json.dumps(release))  # with a url this is the cmd/update payload
    print(f"wrote {out}", file=sys.stderr)
    return 0


def guard(args: argparse.Namespace) -> int:
    from hub.update.guard import main

    return main([args.root])


def keygen(args: argparse.Namespace) -> int:
    from hub.update.signing import generate

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    private = out / "release-key.pem"
    if private.exists():
        print(f"{private} exists: not overwritten", file=sys.stderr)
        return EXIT_CONFIG
    pem, public = generate()
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    (out / "release-key.pub").write_text(public + "\n")
    print(f"private key: {private} (keep it offline; it signs every hub's software)")
    print(f'public key for every hub\'s config:  [update] public_key = "{public}"')
    return 0
