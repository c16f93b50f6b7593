"""Config sections for the home sensors: PIR motion, smoke, temperature/humidity, mains power.

Defaults describe the standard kit (PIR on GPIO24, MQ-2 through an ADS1115 at 0x48, SHT3x at 0x44,
all on I2C bus 1), so a simulated hub with no sensor sections has all of them; provisioning writes
what is really fitted (`fitted = false`, `kind = "none"`, `part = "none"` for absent ones).
Mains power (a UPS HAT) is optional hardware and is off by default.
"""

from __future__ import annotations

from typing import Any

from hub.config.keys import Key, Section, spoken_room

SENSORS = Section(
    "sensors",
    "Shared settings of the home sensors.",
    {
        "i2c_bus": Key(1, "I2C bus number (/dev/i2c-N); bus 1 is GPIO2 (SDA) / GPIO3 (SCL).", min=0, max=10),
        "telemetry_s": Key(
            300.0,
            "How often telemetry.environment (temperature, humidity, activity) is sent.",
            min=0.5,
            max=86400,
        ),
        "fault_after_s": Key(
            30.0, "A sensor failing this long without a good reading raises fault.sensor.", min=0, max=3600
        ),
        "clear_after_s": Key(
            30.0, "Good readings for this long clear the fault (fault.cleared).", min=0, max=3600
        ),
    },
)

MOTION = Section(
    "motion",
    "PIR motion sensor (HC-SR501 / AM312 class), output to a GPIO.",
    {
        "fitted": Key(True, "A PIR is fitted."),
        "pin": Key(24, "BCM GPIO of the PIR output (active high, 3.3 V logic).", min=0, max=27),
        "stuck_active_s": Key(
            10800.0,
            "Output held high this long is a fault (a PIR re-arms within seconds).",
            min=1,
            max=604800,
        ),
    },
)

SMOKE = Section(
    "smoke",
    "Smoke detection: a smoke alarm's relay output, or an MQ-2 sensor via an ADS1115.",
    {
        "kind": Key(
            "analog",
            "'relay' (alarm relay/interconnect on a GPIO), 'analog' (MQ-2 via ADS1115), 'none'.",
            choices=("relay", "analog", "none"),
        ),
        "room": Key("", "Room the smoke detector is in, said in the warning ('厨房检测到烟雾，请马上离开家…'); "
                    "'' = the warning names no room.", min=0, max=12, example="厨房", rule=spoken_room),
        "relay_pin": Key(25, "BCM GPIO of the relay contact (relay kind).", min=0, max=27),
        "relay_active_low": Key(
            True,
            "true: contact closes to GND on smoke (internal pull-up); "
            "false: the line is driven high on smoke (internal pull-down).",
        ),
        "trouble_pin": Key(
            None,
            "GPIO of the alarm's trouble/fault contact, closes to GND on a fault (relay kind).",
            kind=int,
            optional=True,
            min=0,
            max=27,
            example=16,
        ),
        "adc_address": Key(
            0x48, "ADS1115 I2C address: 0x48 ADDR-GND, 0x49 VDD, 0x4A SDA, 0x4B SCL.", min=0x48, max=0x4B
        ),
        "adc_channel": Key(0, "ADS1115 input (AIN0..AIN3) the MQ-2 AO is wired to.", min=0, max=3),
        "adc_full_scale_v": Key(
            4.096, "ADS1115 PGA full scale in volts.", choices=(6.144, 4.096, 2.048, 1.024, 0.512, 0.256)
        ),
        "poll_s": Key(
            0.5, "How often the analog sensor is read; smoke must alarm within 1 s.", min=0.05, max=5
        ),
        "supply_v": Key(5.0, "MQ-2 module supply voltage (its load resistor's top).", min=1, max=12),
        "divider": Key(0.5, "ADC volts per module volt (0.5 for a 10k/10k divider on AO).", min=0.05, max=1),
        "baseline_v": Key(
            None,
            "Clean-air AO voltage (module side) recorded at installation; if absent the "
            "hub records it at first start and keeps it in state_dir.",
            kind=(int, float),
            optional=True,
            min=0.01,
            max=12,
            example=0.62,
        ),
        "alarm_ratio": Key(
            0.5, "Smoke when the sensor's resistance falls to this fraction of clean air.", min=0.05, max=0.95
        ),
        "clear_ratio": Key(
            0.7,
            "Smoke cleared when the resistance recovers to this fraction (> alarm_ratio).",
            min=0.1,
            max=1.0,
        ),
        "min_v": Key(
            0.02, "AO below this (module side) is impossible: sensor unplugged or heater dead.", min=0, max=5
        ),
        "announce_s": Key(
            30.0,
            "While smoke (or a fire-like rise) persists, the spoken warning repeats this often.",
            min=1,
            max=600,
        ),
        "max_v": Key(
            4.95, "AO at or above this (module side) is impossible: shorted to supply.", min=0.1, max=12
        ),
        "alert_pin": Key(
            4,
            "BCM GPIO wired to the ADS1115's ALERT/RDY (open drain; internal pull-up): its comparator wakes "
            "the hub near the smoke threshold instead of a read every poll_s. Checked at start; if the line "
            "does not answer the hub reads every poll_s. -1: not wired.",
            min=-1,
            max=27,
        ),
        "alert_check_s": Key(
            30.0,
            "With the comparator armed, the sensor is still read this often (unplugged, shorted, drift).",
            min=1,
            max=300,
        ),
    },
)

TEMPERATURE = Section(
    "temperature",
    "Temperature/humidity sensor on I2C, and the heat/cold/fire rules.",
    {
        "part": Key(
            "sht3x", "'sht3x' (SHT30/31/35), 'bme280', or 'none'.", choices=("sht3x", "bme280", "none")
        ),
        "address": Key(
            None,
            "I2C address; default 0x44 for the SHT3x (0x45 ADDR high), 0x76 for the BME280 (0x77 SDO high).",
            kind=int,
            optional=True,
            min=0x03,
            max=0x77,
            example=0x44,
        ),
        "poll_s": Key(10.0, "Seconds between readings.", min=0.1, max=600),
        "heat_c": Key(35.0, "Heat alarm at or above this temperature...", min=20, max=80),
        "heat_sustain_s": Key(120.0, "...held for longer than this.", min=0, max=86400),
        "cold_c": Key(12.0, "Cold alarm at or below this temperature...", min=-20, max=25),
        "cold_sustain_s": Key(600.0, "...held for longer than this.", min=0, max=86400),
        "hysteresis_c": Key(
            1.0, "A heat/cold alarm clears this far back on the safe side of its threshold.", min=0, max=10
        ),
        "inhibit_s": Key(
            900.0,
            "No heat/cold alarm this long after power-up, while the unit and its sensor settle to the "
            "room (the sustain timer still runs; rate of rise is not inhibited).",
            min=0,
            max=86400,
        ),
        "repeat_s": Key(
            86400.0,
            "At most one heat (or cold) alarm per this period unless it cleared between.",
            min=60,
            max=604800,
        ),
        "ror_fast_c_per_min": Key(
            3.0, "Rate of rise (possible fire): this many °C per minute...", min=0.1, max=60
        ),
        "ror_fast_window_s": Key(300.0, "...averaged over this window.", min=30, max=7200),
        "ror_slow_c_per_min": Key(1.0, "Or this many °C per minute...", min=0.1, max=60),
        "ror_slow_window_s": Key(1800.0, "...over this longer window.", min=30, max=7200),
        "min_c": Key(-40.0, "Readings below this are impossible: a sensor fault.", min=-60, max=20),
        "max_c": Key(125.0, "Readings above this are impossible: a sensor fault.", min=40, max=200),
        "stuck_s": Key(
            21600.0, "The same raw reading for this long is a fault (real sensors jitter).", min=1, max=604800
        ),
        "max_gap_s": Key(
            300.0, "A longer gap between good readings restarts the sustain timers.", min=1, max=86400
        ),
    },
)

POWER = Section(
    "power",
    "Mains power supervision through a UPS HAT's status outputs (optional).",
    {
        "fitted": Key(False, "A UPS HAT with a power-good output is fitted."),
        "good_pin": Key(12, "BCM GPIO of the power-good output (high = mains present).", min=0, max=27),
        "lost_after_s": Key(10.0, "power.lost once power-good has been low this long.", min=0, max=600),
        "low_battery_pin": Key(
            None,
            "GPIO of the UPS's low-battery output (low = battery low).",
            kind=int,
            optional=True,
            min=0,
            max=27,
            example=13,
        ),
    },
)

SECTIONS: list[Section] = [SENSORS, MOTION, SMOKE, TEMPERATURE, POWER]

def used_pins(cfg: dict[str, Any]) -> dict[int, str]:
    """GPIO pins the fitted sensors claim -> config key, for the hub's duplicate-pin cross-check."""
    return {pin: key for pin, key in _all_claims(cfg)}


def check(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    """Cross-key problems as (key, problem) pairs; empty when the sections agree with each other."""
    problems: list[tuple[str, str]] = []
    smoke = cfg["smoke"]
    if smoke["clear_ratio"] <= smoke["alarm_ratio"]:
        problems.append(("smoke.clear_ratio", "must be greater than smoke.alarm_ratio"))
    if smoke["min_v"] >= smoke["max_v"]:
        problems.append(("smoke.min_v", "must be below smoke.max_v"))
    temp = cfg["temperature"]
    if temp["cold_c"] + temp["hysteresis_c"] >= temp["heat_c"] - temp["hysteresis_c"]:
        problems.append(("temperature.cold_c", "cold and heat thresholds (with hysteresis) overlap"))
    if temp["min_c"] >= temp["max_c"]:
        problems.append(("temperature.min_c", "must be below temperature.max_c"))
    seen: dict[int, str] = {}
    for pin, key in _all_claims(cfg):
        if pin in seen:
            problems.append((key, f"GPIO{pin} is already used by {seen[pin]}"))
        seen[pin] = key
    return problems


def _all_claims(cfg: dict[str, Any]) -> list[tuple[int, str]]:
    claims: list[tuple[int, str]] = []
    if cfg["motion"]["fitted"]:
        claims.append((cfg["motion"]["pin"], "motion.pin"))
    smoke = cfg["smoke"]
    if smoke["kind"] == "relay":
        claims.append((smoke["relay_pin"], "smoke.relay_pin"))
        if smoke["trouble_pin"] is not None:
            claims.append((smoke["trouble_pin"], "smoke.trouble_pin"))
    if smoke["kind"] == "analog" and smoke["alert_pin"] >= 0:
        claims.append((smoke["alert_pin"], "smoke.alert_pin"))
    if cfg["power"]["fitted"]:
        claims.append((cfg["power"]["good_pin"], "power.good_pin"))
        if cfg["power"]["low_battery_pin"] is not None:
            claims.append((cfg["power"]["low_battery_pin"], "power.low_battery_pin"))
    return claims
