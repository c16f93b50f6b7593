"""Self-test of the sensors on the I2C bus: the temperature/humidity sensor (SHT3x or BME280) and the
MQ-2 smoke sensor read through the ADS1115 ADC (or, for a relay-contact smoke alarm, its GPIO lines).
They are read through the same `sensors/` classes the hub uses, so a wiring or chip fault shows here
exactly as the hub would meet it, with a remedy naming the wires and the address.
"""

from __future__ import annotations

import asyncio

from hub.selftest.gpio import fault_contact, read_pin
from hub.selftest.model import FAIL, PASS, Env, Result
from sensors.climate import temperature_address

I2C_HINT = "SDA=GPIO2, SCL=GPIO3"


async def check_temperature(env: Env, owned: bool) -> list[Result]:
    t = env.cfg["temperature"]
    if t["part"] == "none":
        return []
    from sensors.climate import ClimateSensor
    from sensors.errors import SensorError

    bus_no, address = env.cfg["sensors"]["i2c_bus"], temperature_address(env.cfg)
    where = f"{t['part'].upper()} @0x{address:02x} i2c-{bus_no}"
    sensor = ClimateSensor(
        lambda: env.hardware.open_i2c(bus_no), t["part"], address, t["min_c"], t["max_c"], bus_no
    )
    readings = []
    error: SensorError | None = None
    # Several reads: the hub's own sensor loop may share the bus (a collision NACKs one transfer), and
    # an SHT3x's last bits always jitter, so identical raw words every time mean a frozen sensor.
    for _ in range(5):
        try:
            readings.append(await asyncio.to_thread(sensor.read))
            error = None
        except SensorError as exc:
            error = exc
        await asyncio.sleep(0.2)
    sensor.close()
    if not readings:
        assert error is not None
        return [
            Result(
                "temperature",
                "answers on I2C",
                FAIL,
                f"{where}: {error.kind}",
                _sensor_remedy(
                    "温度传感器 temperature sensor", error.kind, f"{I2C_HINT}, 地址 address 0x{address:02x}"
                ),
            )
        ]
    last = readings[-1]
    value = f"{last.temperature_c:.1f} °C" + (
        f", {last.humidity_pct:.0f} %RH" if last.humidity_pct is not None else ""
    )
    if error is not None and len(readings) < 3:
        return [
            Result(
                "temperature",
                "answers on I2C",
                FAIL,
                f"{where}: {value}; {error.kind}",
                _sensor_remedy("温度传感器 temperature sensor", error.kind, I2C_HINT),
            )
        ]
    if t["part"] == "sht3x" and len(readings) >= 4 and len({r.raw for r in readings}) == 1:
        return [
            Result(
                "temperature",
                "reading changes",
                FAIL,
                f"{where}: {value}, raw frozen",
                "温度传感器读数冻结：断电重启传感器，仍不变则更换 / sensor frozen: power-cycle it, "
                "replace if it stays frozen",
            )
        ]
    if not 0.0 <= last.temperature_c <= 50.0 or (
        last.humidity_pct is not None and not 1 <= last.humidity_pct <= 100
    ):
        return [
            Result(
                "temperature",
                "plausible in a home",
                FAIL,
                f"{where}: {value}",
                "读数不合理：检查传感器是否靠近热源/受潮，或更换 / implausible for a room: check it is "
                "away from heaters and dry, else replace",
            )
        ]
    return [Result("temperature", "answers, plausible", PASS, f"{where}: {value}")]


async def check_smoke(env: Env, owned: bool) -> list[Result]:
    s = env.cfg["smoke"]
    if s["kind"] == "none":
        return []
    if s["kind"] == "relay":
        active = read_pin(env, s["relay_pin"], s["relay_active_low"], owned) != s["relay_active_low"]
        results = [
            Result(
                "smoke",
                "relay input",
                FAIL if active else PASS,
                f"GPIO{s['relay_pin']}: {'smoke signalled' if active else 'quiet'}",
                "报警器正在报警或接线反了：通风后重测，检查 relay_active_low / the alarm signals "
                "smoke now, or the contact is wired the other way (relay_active_low)"
                if active
                else "",
            )
        ]
        if s["trouble_pin"] is not None:
            where = f"GPIO{s['trouble_pin']}"
            results.append(fault_contact(env, owned, "smoke", "trouble contact", s["trouble_pin"],
                                         (f"{where}: fault", f"{where}: ok"),
                                         "烟雾报警器报故障：更换电池或报警器 / the alarm reports a fault: "
                                         "replace its battery or the alarm"))
        return results
    from sensors.errors import SensorError
    from sensors.smoke import analog_sensor

    bus_no = env.cfg["sensors"]["i2c_bus"]
    where = f"ADS1115 @0x{s['adc_address']:02x} AIN{s['adc_channel']} i2c-{bus_no}"
    sensor = analog_sensor(s, lambda: env.hardware.open_i2c(bus_no), bus_no)
    sample, error = None, None
    for _ in range(3):
        try:
            sample = await asyncio.to_thread(sensor.read)
            break
        except SensorError as exc:
            error = exc
            await asyncio.sleep(0.2)
    sensor.close()
    if sample is None:
        assert error is not None
        return [
            Result(
                "smoke",
                "MQ-2 via ADS1115",
                FAIL,
                f"{where}: {error.kind}",
                _sensor_remedy(
                    "烟雾传感器 smoke sensor",
                    error.kind,
                    f"{I2C_HINT}, ADC 0x{s['adc_address']:02x}, MQ-2 AO → AIN{s['adc_channel']}",
                ),
            )
        ]
    return [Result("smoke", "MQ-2 via ADS1115", PASS, f"{where}: AO {sample.volts:.2f} V")]



def _sensor_remedy(what: str, kind: str, wiring: str) -> str:
    if kind in ("no_response", "timeout", "wrong_chip"):
        return f"{what}无响应 not answering: 检查接线 check wiring ({wiring}); i2cdetect -y 1"
    if kind in ("crc", "short_read"):
        return f"{what}数据出错 garbled data: 线松动或太长 loose or long wires ({wiring})"
    if kind == "impossible":
        return f"{what}读数不可能 impossible reading: 更换传感器 replace the sensor"
    return f"{what}故障 fault ({kind}): 检查接线或更换 check wiring or replace"
