"""`hub ble scan | pair ADDRESS | list | decode CHARACTERISTIC HEX`: Bluetooth meters for the technician.

`decode` takes the characteristic by name or UUID (`bp`, `2a35`, `0x2A35` or the 128-bit form): the
format is never guessed from the length. `--profile ID` decodes as a quirk profile would.

On a simulated hub (`hub run --simulate`) scan and pair go through the control socket to the
virtual radio; otherwise they use the adapter through bleak, and pairing registers a BlueZ agent so
a meter that shows a PIN can be paired by typing it here. bleak's BlueZ backend and dbus-fast are
imported only on that path, so `hub ble decode` works on any laptop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from hub.cli.ble_decode import CHARACTERISTICS, decode_value
from hub.cli.common import add_config_arg, load_config_or_exit
from hub.core.control import ControlError, request, socket_path

EXIT_BAD_VALUE = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ble",
        help="蓝牙血压计、血糖仪 Bluetooth meters: scan, pair, list, decode",
        description="Blood-pressure and glucose meters over Bluetooth LE.",
    )
    verbs = p.add_subparsers(dest="ble_verb", metavar="ACTION")
    scan = verbs.add_parser("scan", help="list nearby meters (name, address, services, RSSI)")
    add_config_arg(scan)
    scan.add_argument("--timeout", type=float, default=8.0, help="seconds to listen (default 8)")
    scan.add_argument("--json", action="store_true")
    scan.add_argument("--triggers", action="store_true",
                      help="BTHome/Xiaomi pendants, buttons and sensors instead: kind, signal, key needed, bound")
    scan.set_defaults(func=cmd_scan)
    pair = verbs.add_parser("pair", help="bond with a meter and remember it (measure first: it must advertise)")
    add_config_arg(pair)
    pair.add_argument("address", help="e.g. C0:FF:EE:00:00:01 (from 'hub ble scan')")
    pair.add_argument("--passkey", help="PIN the meter shows (asked for interactively when needed)")
    pair.set_defaults(func=cmd_pair)
    lst = verbs.add_parser("list", help="paired meters and what the hub has fetched from them")
    add_config_arg(lst)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)
    dec = verbs.add_parser(
        "decode",
        help="decode one characteristic value, print JSON",
        description="CHARACTERISTIC by name or UUID: "
        + "; ".join(f"{names[0]} ({', '.join(names[1:])}, 0x{short:04X})" for short, names in CHARACTERISTICS.items()),
    )
    dec.add_argument("characteristic", metavar="CHARACTERISTIC", help="name or UUID, e.g. bp, 2a35, current_time")
    dec.add_argument("hex", nargs="+", help="the value as hex, e.g. 1E8A0058007800")
    dec.add_argument("--profile", default=None, help="decode as this quirk profile (sensors/meters/profiles.toml id)")
    dec.set_defaults(func=cmd_decode)
    p.set_defaults(func=lambda _a: p.print_help() or 2)


def cmd_decode(args: argparse.Namespace) -> int:
    try:
        out = decode_value(args.characteristic, " ".join(args.hex), args.profile)
    except ValueError as exc:
        print(f"无法解码 cannot decode {args.characteristic}: {exc}", file=sys.stderr)
        return EXIT_BAD_VALUE
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def _simulated(config: Any, verb: str, argv: list[str]) -> dict[str, Any] | None:
    """Ask a running simulated hub; None when there is no hub or it is a real one."""
    try:
        return request(socket_path(config.state_dir), {"cmd": "sim", "verb": verb, "argv": argv}, timeout=60)
    except ControlError as exc:
        text = str(exc)
        if "no running hub" in text or "not simulated" in text or "unknown sim verb" in text:
            return None
        raise


def cmd_scan(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args)
    if args.triggers:
        try:
            found = scan_triggers(config, args.timeout)
        except Exception as exc:
            print(f"蓝牙扫描失败 scan failed: {exc}; check 'bluetoothctl show' and 'rfkill list'", file=sys.stderr)
            return 1
        print(json.dumps(found, ensure_ascii=False)) if args.json else print_triggers(found)
        return 0
    try:
        result = _simulated(config, "ble-scan", [str(args.timeout)])
        if result is not None:
            devices = result["devices"]
        else:
            from sensors.meters.pairing import scan

            devices = asyncio.run(scan(args.timeout, adapter=config["ble"]["adapter"]))
    except Exception as exc:  # adapter off, no D-Bus, hub refused: one plain line
        print(f"蓝牙扫描失败 scan failed: {exc}; check 'bluetoothctl show' and 'rfkill list'", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(devices, ensure_ascii=False))
        return 0
    print(f"{'ADDRESS':<18} {'RSSI':>5}  {'SERVICES':<12} NAME")
    for d in devices:
        print(f"{d['address']:<18} {d['rssi']!s:>5}  {','.join(d['services']) or '-':<12} {d['name']}")
    return 0


def scan_triggers(config: Any, timeout: float) -> list[dict[str, Any]]:
    """BTHome / Xiaomi advertisers nearby (pendants, buttons, sensors): kind, signal, whether a key is needed,
    and whether this unit has bound them ([[triggers]])."""
    result = _simulated(config, "ble-adverts", [str(timeout)])
    if result is not None:
        devices: list[dict[str, Any]] = result["devices"]
    else:
        from drivers.ble.adverts import scan_adverts

        devices = asyncio.run(scan_adverts(timeout, adapter=config["ble"]["adapter"]))
    bound = {t["address"].upper(): t["id"] for t in config["triggers"]}
    return [{**d, "bound": bound.get(d["address"], "")} for d in devices]


def print_triggers(devices: list[dict[str, Any]]) -> None:
    print(f"{'ADDRESS':<18} {'RSSI':>5}  {'PROTOCOL':<8} {'KIND':<8} {'KEY':<9} {'BOUND':<10} NAME")
    for d in devices:
        key = "needed" if d["needs_key"] else "none"
        print(f"{d['address']:<18} {d['rssi']!s:>5}  {d['protocol']:<8} {d['kind']:<8} {key:<9} "
              f"{d['bound'] or '-':<10} {d['name']}")
    if any(not d["needs_key"] and d["kind"] == "button" for d in devices):
        print("未加密的按钮任何人都能冒充：在按钮应用里开启加密并设置绑定密钥 (an unencrypted button can be spoofed: "
              "turn on encryption in its app and set a bind key)")


def cmd_pair(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args)
    argv = [args.address] + (["--passkey", args.passkey] if args.passkey else [])
    try:
        result = _simulated(config, "ble-pair", argv)
        if result is None:
            result = asyncio.run(_pair_real(config, args.address, args.passkey))
    except Exception as exc:
        print(
            f"配对失败 pairing {args.address} failed: {exc}. Take a measurement so the meter advertises "
            "(or hold its Bluetooth button), keep it within 2 m, then retry.",
            file=sys.stderr,
        )
        return 1
    print(f"已配对 paired {result['kind']} meter {result['name']} ({result['address']})")
    return 0


async def _pair_real(config: Any, address: str, passkey: str | None) -> dict[str, Any]:
    from sensors.meters.pairing import pair
    from sensors.meters.store import MeterStore

    async with passkey_agent(passkey):
        with MeterStore.in_state_dir(config.state_dir) as store:
            meter = await pair(store, address, datetime.now(UTC).astimezone(), adapter=config["ble"]["adapter"])
    return {"address": meter.address, "kind": meter.kind, "name": meter.name}


def cmd_list(args: argparse.Namespace) -> int:
    from sensors.meters.store import FILENAME, MeterStore

    config = load_config_or_exit(args)
    if not (config.state_dir / FILENAME).exists():
        meters = []
    else:
        with MeterStore.in_state_dir(config.state_dir) as store:
            meters = store.meters()
    rows: list[dict[str, Any]] = [
        {
            "address": m.address,
            "kind": m.kind,
            "name": m.name,
            "paired_at": m.paired_at,
            "last_sequence": m.last_sequence,
            "numbers_backwards": m.reversed,
        }
        for m in meters
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    elif not rows:
        print("没有已配对的仪器 no paired meters: 'hub ble scan' then 'hub ble pair ADDRESS'")
    else:
        for r in rows:
            print(
                f"{r['address']:<18} {r['kind']:<8} {r['name']:<16} paired {r['paired_at'][:19]}"
                f"  last record #{r['last_sequence'] if r['last_sequence'] is not None else '-'}"
            )
    return 0


AGENT_PATH = "/org/eldercare/hub/agent"


@contextlib.asynccontextmanager
async def passkey_agent(passkey: str | None) -> AsyncIterator[None]:
    """A BlueZ org.bluez.Agent1 for the duration of one pairing: answers PIN/passkey requests with
    --passkey or by asking on the terminal. dbus-fast (bleak's own D-Bus library) imported here only."""
    from dbus_fast import BusType, Message, MessageType
    from dbus_fast.aio import MessageBus
    from dbus_fast.service import ServiceInterface, method

    def ask(device: str) -> str:
        if passkey is not None:
            return passkey
        return input(f"请输入仪器屏幕上的配对码 PIN shown on the meter ({device.rsplit('/', 1)[-1]}): ").strip()

    def dbus(ret: str = "", **params: str) -> Callable[[Callable[..., Any]], Any]:
        """dbus-fast reads D-Bus signatures from annotations ("o" object path, "u" uint32, ...)."""

        def wrap(fn: Callable[..., Any]) -> Any:
            fn.__annotations__ = {**params, **({"return": ret} if ret else {})}
            return method()(fn)

        return wrap

    class Agent(ServiceInterface):
        def __init__(self) -> None:
            super().__init__("org.bluez.Agent1")

        @dbus()
        def Release(self) -> None:
            pass

        @dbus("s", device="o")
        def RequestPinCode(self, device: str) -> str:
            return ask(device)

        @dbus("u", device="o")
        def RequestPasskey(self, device: str) -> int:
            return int(ask(device))

        @dbus(device="o", passkey="u", entered="q")
        def DisplayPasskey(self, device: str, passkey: int, entered: int) -> None:
            print(f"仪器配对码 passkey: {passkey:06d}")

        @dbus(device="o", pincode="s")
        def DisplayPinCode(self, device: str, pincode: str) -> None:
            print(f"仪器配对码 PIN: {pincode}")

        @dbus(device="o", passkey="u")
        def RequestConfirmation(self, device: str, passkey: int) -> None:
            print(f"确认配对码 confirming passkey {passkey:06d}")

        @dbus(device="o")
        def RequestAuthorization(self, device: str) -> None:
            pass

        @dbus(device="o", uuid="s")
        def AuthorizeService(self, device: str, uuid: str) -> None:
            pass

        @dbus()
        def Cancel(self) -> None:
            print("配对已被仪器取消 pairing cancelled by the meter")

    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()

    async def manager(member: str, signature: str, body: list[Any]) -> None:
        reply = await bus.call(
            Message(
                destination="org.bluez",
                path="/org/bluez",
                interface="org.bluez.AgentManager1",
                member=member,
                signature=signature,
                body=body,
            )
        )
        if reply is not None and reply.message_type == MessageType.ERROR:
            raise RuntimeError(f"BlueZ {member}: {reply.error_name} {reply.body}")

    bus.export(AGENT_PATH, Agent())
    try:
        await manager("RegisterAgent", "os", [AGENT_PATH, "KeyboardDisplay"])
        await manager("RequestDefaultAgent", "o", [AGENT_PATH])
        yield
    finally:
        with contextlib.suppress(Exception):
            await manager("UnregisterAgent", "o", [AGENT_PATH])
        bus.disconnect()
