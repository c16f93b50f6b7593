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

from hub.cli.common import add_config_arg, load_config_or_exit
from hub.core.control import ControlError, request, socket_path

EXIT_BAD_VALUE = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ble",
        help="Bluetooth meters: scan, pair, list, decode",
        description="Blood-pressure and glucose meters over Bluetooth LE.",
    )
    verbs = p.add_subparsers(dest="ble_verb", metavar="ACTION")
    scan = verbs.add_parser("scan", help="list nearby meters (name, address, services, RSSI)")
    add_config_arg(scan)
    scan.add_argument("--timeout", type=float, default=8.0, help="seconds to listen (default 8)")
    scan.add_argument("--json", action="store_true")
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
    dec.add_argument("--profile", default=None, help="decode as this quirk profile (sensors/meter_profiles.toml id)")
    dec.set_defaults(func=cmd_decode)
    p.set_defaults(func=lambda _a: p.print_help() or 2)


# 16-bit UUID -> names (the first is the short one used in messages).
CHARACTERISTICS: dict[int, tuple[str, ...]] = {
    0x2A35: ("bp", "blood_pressure_measurement"),
    0x2A36: ("cuff", "intermediate_cuff_pressure"),
    0x2A18: ("glucose", "glucose_measurement"),
    0x2A34: ("context", "glucose_measurement_context"),
    0x2A52: ("racp", "record_access_control_point"),
    0x2A08: ("date_time",),
    0x2A0A: ("day_date_time",),
    0x2A2B: ("current_time",),
    0x2A49: ("bp_feature", "blood_pressure_feature"),
    0x2A51: ("glucose_feature",),
}


def characteristic(text: str) -> int:
    """A name or a UUID (2a35, 0x2A35, 00002a35-0000-1000-8000-00805f9b34fb) -> the 16-bit UUID."""
    key = text.strip().lower().replace("-", "_")
    for short, names in CHARACTERISTICS.items():
        if key in names:
            return short
    digits = key.removeprefix("0x")
    if digits.endswith("_0000_1000_8000_00805f9b34fb") and len(digits) == 36:
        digits = digits[4:8]
    try:
        short = int(digits, 16) if len(digits) == 4 else -1
    except ValueError:
        short = -1
    if short not in CHARACTERISTICS:
        known = ", ".join(names[0] for names in CHARACTERISTICS.values())
        raise ValueError(f"unknown characteristic {text!r}; give a name ({known}) or its UUID, e.g. 2a35")
    return short


def _decoder(short: int, profile_id: str | None) -> Callable[[bytes], dict[str, Any]]:
    from drivers.ble import bps, features, gls, racp
    from drivers.ble import time as t

    big: frozenset[str] = frozenset()
    infer = False
    if profile_id is not None:
        from sensors.meter_profiles import table

        found = {p.id: p for p in table()}
        if profile_id not in found:
            raise ValueError(f"no quirk profile {profile_id!r}; known: {', '.join(found)}")
        big, infer = found[profile_id].big_endian, "user_id" in found[profile_id].infer_from_length

    table_ = {
        0x2A35: lambda b: bps.decode_measurement(b, big_endian=big, infer_user_id=infer).to_json(),
        0x2A36: lambda b: bps.decode_measurement(b, "Intermediate Cuff Pressure 0x2A36", big_endian=big).to_json(),
        0x2A18: lambda b: gls.decode_measurement(b, big_endian=big).to_json(),
        0x2A34: lambda b: gls.decode_context(b).to_json(),
        0x2A52: lambda b: racp.decode(b).to_json(),
        0x2A08: lambda b: t.CurrentTime(t.decode_date_time(b), 0).to_json(),
        0x2A0A: lambda b: t.decode_day_date_time(b).to_json(),
        0x2A2B: lambda b: t.decode_current_time(b).to_json(),
        0x2A49: lambda b: features.decode_bp_feature(b).to_json(),
        0x2A51: lambda b: features.decode_glucose_feature(b).to_json(),
    }
    return table_[short]


def decode_value(name: str, text: str, profile: str | None = None) -> dict[str, Any]:
    """Raises ValueError (MalformedValue names field and byte) for a bad name, bad hex or a bad value."""
    from drivers.ble import parse_hex

    return _decoder(characteristic(name), profile)(parse_hex(text))


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
    try:
        result = _simulated(config, "ble-scan", [str(args.timeout)])
        if result is not None:
            devices = result["devices"]
        else:
            from sensors.meters import scan

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
    from sensors.meter_store import MeterStore
    from sensors.meters import pair

    async with passkey_agent(passkey):
        with MeterStore.in_state_dir(config.state_dir) as store:
            meter = await pair(store, address, datetime.now(UTC).astimezone(), adapter=config["ble"]["adapter"])
    return {"address": meter.address, "kind": meter.kind, "name": meter.name}


def cmd_list(args: argparse.Namespace) -> int:
    from sensors.meter_store import FILENAME, MeterStore

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
