"""Simulated Bluetooth meters on the virtual BLE backend, and the `hub sim bp|glucose` verbs.

The meters hold real GATT services and send the exact bytes of the Bluetooth SIG formats, so the
hub's BLE code path (scanner, BleakClient, RACP, decoding) is the same one that runs on a Pi.
Quirk profiles reproduce what real meters do: push records as soon as notifications are enabled,
refuse an unbonded link, number records backwards, lose their clock (year 0), drop the link
mid-transfer.

This module is the simulation component and its verbs; the meters are `hub/health/sim/bp_meter.py` and
`hub/health/sim/glucose_meter.py` (shared clock and quirks: `hub/health/sim/meter.py`).

The meters are put on the board, paired, by the first verb that needs them (`bp`, `glucose`, `ble-*`),
not at start: a simulated hub whose resident has not measured anything is a unit with no meter paired,
which does not listen (hub.health.component) and never imports bleak or the virtual radio.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from drivers.ble.sfloat import Special, encode_sfloat
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.simulation import SimArgumentError, SimParser, shared_radio

if TYPE_CHECKING:  # the meter models and the virtual radio (bleak) load with the first verb that needs them
    from drivers.ble.virtual.radio import VirtualRadio
    from hub.health.sim.bp_meter import SimBpMeter
    from hub.health.sim.glucose_meter import SimGlucoseMeter

BP_ADDRESS = "C0:FF:EE:00:00:01"
GLUCOSE_ADDRESS = "C0:FF:EE:00:00:02"
NEW_BP_ADDRESS = "C0:FF:EE:00:00:10"  # `hub sim ble-new`: a meter the unit has never paired


class SimBle:
    """Puts a BP meter and a glucose meter on the virtual radio, paired, once a verb needs them, and
    drives them."""

    name = "sim.ble"

    def __init__(self, config: Config, hardware: Hardware) -> None:
        self.config, self.hardware = config, hardware
        self._radio: VirtualRadio | None = None
        self.bp: SimBpMeter | None = None
        self.glucose: SimGlucoseMeter | None = None
        self._ctx: HubContext | None = None

    async def start(self, ctx: HubContext) -> None:
        from sensors.meters.store import MeterStore

        self._ctx = ctx
        for verb in ("bp", "glucose", "ble-scan", "ble-pair", "ble-new"):
            ctx.add_sim_command(verb, self._on_board(verb))
        with MeterStore.in_state_dir(self.config.state_dir) as store:
            paired = await asyncio.to_thread(store.meters)
        if paired:  # paired before a restart: on the board again before the health component listens
            await self.board()

    def _on_board(self, verb: str) -> Any:
        handler = {"bp": self.sim_bp, "glucose": self.sim_glucose, "ble-scan": self.sim_scan,
                   "ble-pair": self.sim_pair, "ble-new": self.sim_new}[verb]

        async def run(argv: list[str]) -> dict[str, Any]:
            await self.board()
            return await handler(argv)

        return run

    @property
    def radio(self) -> VirtualRadio:
        assert self._radio is not None, "SimBle.board() first"
        return self._radio

    async def board(self) -> None:
        """The two meters on the virtual radio, bonded and paired (once); the health component is told,
        so it starts listening at once instead of at its next look at the paired list."""
        if self._radio is not None:
            return
        from hub.health.sim.bp_meter import SimBpMeter
        from hub.health.sim.glucose_meter import SimGlucoseMeter
        from sensors.meters.store import MeterStore

        ctx = self._ctx
        assert ctx is not None
        tz = ctx.clock.now().tzinfo

        def local_now() -> datetime:
            return ctx.clock.now().astimezone(tz).replace(tzinfo=None)

        self._local_now = local_now
        self._radio = shared_radio(self.hardware)
        self.bp = SimBpMeter(BP_ADDRESS, local_now)
        self.glucose = SimGlucoseMeter(GLUCOSE_ADDRESS, local_now)
        with MeterStore.in_state_dir(self.config.state_dir) as store:
            for meter, kind in ((self.bp, "bp"), (self.glucose, "glucose")):
                self.radio.add(meter)
                self.radio.bond(meter.address)
                if store.get(meter.address) is None:
                    await asyncio.to_thread(store.pair, meter.address, kind, meter.name, ctx.clock.now())
        health = ctx.component("health")
        if health is not None:
            health.look_again()

    async def sim_bp(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim bp")
        p.add_argument("systolic", help="mmHg, or ERR: the cuff fails (NaN values, as a meter showing Err)")
        p.add_argument("diastolic", nargs="?", default=None)
        p.add_argument("--pulse", type=float, default=None)
        p.add_argument("--meter", default=None, help="the address of a meter from 'hub sim ble-new'")
        a = p.parse_args(argv)
        assert self.bp is not None
        if a.meter is not None and a.meter.upper() != BP_ADDRESS:
            if a.meter.upper() != NEW_BP_ADDRESS or NEW_BP_ADDRESS not in self.radio.peripherals:
                raise SimArgumentError(f"没有这个模拟血压计 no simulated meter {a.meter}; 'hub sim ble-new' adds one")
            meter: SimBpMeter = self.radio.peripherals[NEW_BP_ADDRESS]  # type: ignore[assignment]
            value = meter.measure(float(a.systolic), float(a.diastolic), a.pulse)
            return {"meter": meter.address, "advertising": True, "value_hex": value.hex()}
        if a.systolic.upper() == "ERR":
            value = self.bp.measure_error()
            return {"meter": self.bp.address, "advertising": True, "value_hex": value.hex(), "shows": "Err"}
        try:
            systolic, diastolic = float(a.systolic), float(a.diastolic)
        except (TypeError, ValueError):
            systolic = diastolic = float("nan")
        if not (30 <= diastolic < systolic <= 300):
            raise SimArgumentError("血压应为 30 ≤ 舒张压 < 收缩压 ≤ 300 need 30 <= DIA < SYS <= 300 mmHg (or ERR), "
                                   "e.g. hub sim bp 185 112")
        if a.pulse is not None and not 20 <= a.pulse <= 250:
            raise SimArgumentError("--pulse 应为每分钟 20..250 must be 20..250 per minute")
        value = self.bp.measure(systolic, diastolic, a.pulse)
        return {"meter": self.bp.address, "advertising": True, "value_hex": value.hex()}

    async def sim_glucose(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim glucose")
        p.add_argument("mmol")
        p.add_argument("--meal", choices=("fasting", "before", "after", "bedtime"), default=None)
        a = p.parse_args(argv)
        assert self.glucose is not None
        beyond = _BEYOND_RANGE.get(a.mmol.upper())
        if beyond is not None:  # the meter's display says HI / LO
            seq = _measure_beyond_range(self.glucose, beyond, a.meal)
            return {"meter": self.glucose.address, "advertising": True, "sequence": seq, "shows": a.mmol.upper()}
        try:
            mmol = float(a.mmol)
        except ValueError:
            mmol = float("nan")
        if not 0.6 <= mmol <= 33.3:  # the display range of ordinary meters
            raise SimArgumentError(
                "血糖应为 0.6..33.3 mmol/L 或 HI / LO MMOL must be 0.6..33.3 mmol/L, or HI / LO (beyond the "
                "meter's range), "
                "e.g. hub sim glucose 5.6 --meal fasting"
            )
        seq = self.glucose.measure(mmol, a.meal)
        return {"meter": self.glucose.address, "advertising": True, "sequence": seq}

    async def sim_new(self, argv: list[str]) -> dict[str, Any]:
        """A blood-pressure meter the unit has never seen, in pairing mode (the set-up page pairs it)."""
        from hub.health.sim.bp_meter import SimBpMeter

        if NEW_BP_ADDRESS not in self.radio.peripherals:
            self.radio.add(SimBpMeter(NEW_BP_ADDRESS, self._local_now))
        self.radio.peripherals[NEW_BP_ADDRESS].start_advertising()
        return {"meter": NEW_BP_ADDRESS, "advertising": True}

    async def sim_scan(self, argv: list[str]) -> dict[str, Any]:
        from sensors.meters.pairing import scan

        timeout = float(argv[0]) if argv else 2.0
        return {"devices": await scan(min(timeout, 30.0), backend=self.radio.scanner_backend)}

    async def sim_pair(self, argv: list[str]) -> dict[str, Any]:
        from sensors.meters.pairing import pair
        from sensors.meters.store import MeterStore

        p = SimParser("hub ble pair")
        p.add_argument("address")
        p.add_argument("--passkey", default=None)
        a = p.parse_args(argv)
        peripheral = self.radio.peripherals.get(a.address.upper())
        if peripheral is None:
            raise SimArgumentError(f"这个地址没有模拟血压计 no simulated meter at {a.address}; "
                                   "'hub ble scan' lists them")
        peripheral.start_advertising()  # pairing mode
        assert self._ctx is not None
        with MeterStore.in_state_dir(self.config.state_dir) as store:
            meter = await pair(
                store, a.address, self._ctx.clock.now(), backend=self.radio.client_backend, passkey=a.passkey
            )
        return {"address": meter.address, "kind": meter.kind, "name": meter.name}

    async def close(self) -> None:
        for meter in (self.bp, self.glucose):
            if meter is not None:
                meter.close()
        if self._radio is not None:
            self._radio.close()


_BEYOND_RANGE = {"HI": Special.POS_INF, "LO": Special.NEG_INF}


def _measure_beyond_range(meter: SimGlucoseMeter, code: Special, meal: str | None) -> int:
    """A record whose concentration is SFLOAT +INF / -INF, the bytes a real meter showing HI / LO sends."""
    seq = meter.measure(5.0, meal)  # numbered, stamped and advertised like any reading; value replaced:
    record = meter.records[-1]
    # no sensor status is sent, so the concentration is the SFLOAT just before the last byte (type/location)
    record.value = record.value[:-3] + encode_sfloat(code) + record.value[-1:]
    return seq


def build(config: Config, hardware: Hardware) -> SimBle | None:
    if not hardware.simulated:
        return None
    return SimBle(config, hardware)
