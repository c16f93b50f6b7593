"""The components a hub runs, in start order. Each factory returns None when its part is not fitted."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from hub.config.loader import Config
from hub.core.context import Component, Hardware

Factory = Callable[[Config, Hardware], Component | None]

# "module:function" — imported lazily so a laptop without BLE/I2C libraries still imports `hub`.
FACTORIES: list[str] = [
    "hub.remote_config.component:build",  # first: a config on trial counts every start
    "hub.calls.manager:build",
    "hub.core.sim_clock:build",
    "hub.calls.sim:build",
    "hub.home.sim:build",  # before home_sensors: its chips must be on the fake bus first
    "hub.home.component:build",
    "hub.detect.fall.sim:build",  # before fall: the virtual wearable and radar port must exist first
    "hub.detect.fall.component:build",
    "hub.detect.inactivity.component:build",
    "hub.detect.checkin.component:build",
    "hub.detect.contacts.component:build",  # after inactivity: it hears the contacts' first changes
    "hub.detect.contacts.sim:build",
    "hub.detect.inactivity.sim:build",
    "hub.selftest.component:build",
    "hub.provision.reporter:build",
    "hub.device.health:build",
    "hub.certificates.expiry:build",  # the TLS client certificate: expiry, cmd/rotate_cert
    "hub.cellular.sim:build",  # before cellular: the modem model must be on its pty first
    "hub.cellular.component:build",
    "hub.health.sim.component:build",  # before health: sets the virtual BLE backend and pre-pairs its meters
    "hub.health.component:build",
    "hub.update.component:build",  # cmd/update; a version on trial proves itself here
    "hub.voicecall.component:build",  # hears the alarms above (ctx.on_event) and calls/answers over SIP
    "hub.homeassistant.component:build",  # optional: states for a family's Home Assistant (ctx.on_event)
    "hub.escalation.component:build",  # works the chain through the cellular component (ctx.component)
    "hub.wellbeing.component:build",  # counts the day (ctx.activity, ctx.on_event); cmd/report
    "hub.provision.web.mode:build",  # set-up mode: the installer's page (aiohttp only once it is entered)
    "hub.zigbee.sim:build",  # simulation only: plays zigbee2mqtt on the local broker (`hub sim zigbee`)
    "hub.zigbee.component:build",  # zigbee2mqtt on the unit's broker: gas, CO, water, smoke, SOS, valves
    "hub.notices.component:build",  # cmd/notice and [[reminders]]: hears readings (ctx.on_event)
    "hub.triggers.sim:build",  # before triggers: the virtual pendants must be on the radio first
    "hub.triggers.component:build",  # BLE pendants and pull cords -> calls (ctx.component); supervision
]


# Optional parts whose modules are not even imported unless one of these config values is set: each
# costs a few hundred kB of a 32 MB budget on a unit that has no modem, no SIP account, no chain, no
# Home Assistant and no fall sensor. The factory still decides (a gate only rules out what is surely off).
GATES: dict[str, tuple[tuple[str, str], ...]] = {  # factory -> (section, key) pairs, any one set turns it on
    "hub.cellular.sim:build": (("modem", "port"),),
    "hub.cellular.component:build": (("modem", "port"),),
    "hub.voicecall.component:build": (("voice_call", "account"), ("voice_call", "targets")),
    "hub.escalation.component:build": (("escalation", "enabled"),),
    "hub.homeassistant.component:build": (("homeassistant", "enabled"),),
    "hub.zigbee.sim:build": (("zigbee", "enabled"),),
    "hub.zigbee.component:build": (("zigbee", "enabled"),),
    # The fall path (bleak, the virtual radio, pyserial, the detector) only with a part to watch, in
    # simulation too: the simulated board has the parts its config names (hub.detect.fall.sim).
    "hub.detect.fall.sim:build": (("fall", "wearable_address"), ("fall", "radar_port")),
    "hub.detect.fall.component:build": (("fall", "wearable_address"), ("fall", "radar_port")),
}


def _gated_off(spec: str, config: Config) -> bool:
    keys = GATES.get(spec)
    if keys is None:
        return False
    return all(not (config.get(section) or {}).get(name) for section, name in keys)


# Started before READY=1 (what the first press needs, and the remote-config trial, which counts every
# start before anything else can crash); every other component is imported and started just after it.
BEFORE_READY = frozenset({"hub.remote_config.component:build", "hub.calls.manager:build",
                          "hub.core.sim_clock:build", "hub.calls.sim:build"})


def build_all(config: Config, hardware: Hardware, before_ready: bool | None = None) -> list[Component]:
    """The fitted components in start order; `before_ready` True/False: only those started before/after
    READY=1 (None: all)."""
    built: list[Component] = []
    for spec in FACTORIES:
        if before_ready is not None and (spec in BEFORE_READY) != before_ready:
            continue
        if _gated_off(spec, config):
            continue
        module, func = spec.split(":")
        component = getattr(import_module(module), func)(config, hardware)
        if component is not None:
            built.append(component)
    return built
