"""A simulated 4G modem for `hub run --simulate`: the EC25-class model (drivers/fakes/modem.py) on a real
pseudo-terminal, reached through pyserial exactly as the USB AT port on a Pi. Verbs:

    hub sim modem status                      SIM, registration, signal and the SMS the network took
    hub sim modem sms FROM TEXT...            a text arrives from FROM (a duty officer's reply: "1")
    hub sim modem sim absent|present          take the SIM out / put it back
    hub sim modem network home|searching|denied|roaming
    hub sim modem signal RSSI                 +CSQ 0..31 (99 = unknown)
    hub sim modem fault sms|reset|clear       the network refuses SMS / the module resets on its next command
"""

from __future__ import annotations

from typing import Any

from drivers.fakes.modem import FakeModem
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.simulation import SimArgumentError, SimParser

_NETWORK = {"home": 1, "searching": 2, "denied": 3, "roaming": 5}


class SimModem:
    name = "sim.modem"

    def __init__(self, config: Config, hardware: Hardware) -> None:
        self.modem = FakeModem()
        port = config["modem"]["port"]

        def open_port(**kwargs: Any) -> Any:
            import serial  # lazily: only a hub with a modem loads pyserial

            return serial.Serial(self.modem.path, **kwargs)

        # Registered at build time: the cellular component opens the port in its own start().
        hardware.world.serial_ports[port] = open_port
        parser = SimParser("hub sim modem")
        sub = parser.add_subparsers(dest="what", required=True)
        sub.add_parser("status")
        sms = sub.add_parser("sms")
        sms.add_argument("sender")
        sms.add_argument("text", nargs="+")
        sim = sub.add_parser("sim")
        sim.add_argument("state", choices=("absent", "present"))
        net = sub.add_parser("network")
        net.add_argument("state", choices=tuple(_NETWORK))
        sig = sub.add_parser("signal")
        sig.add_argument("rssi", type=int, choices=[*range(32), 99], metavar="RSSI")
        fault = sub.add_parser("fault")
        fault.add_argument("kind", choices=("sms", "reset", "clear"))
        self.parser = parser

    async def start(self, ctx: HubContext) -> None:
        ctx.add_sim_command("modem", self._verb)

    async def _verb(self, argv: list[str]) -> dict[str, Any]:
        if not argv:
            raise SimArgumentError("hub sim modem: say what: status | sms FROM TEXT | sim | network | signal | fault")
        args = self.parser.parse_args(argv)
        state = self.modem.state
        if args.what == "sms":
            index = self.modem.deliver_sms(args.sender, " ".join(args.text))
            return {"delivered": index}
        if args.what == "sim":
            state.sim = "READY" if args.state == "present" else ""
        elif args.what == "network":
            self.modem.set_registration(_NETWORK[args.state])
        elif args.what == "signal":
            state.rssi = args.rssi
        elif args.what == "fault":
            state.sms_error = 500 if args.kind == "sms" else None
            state.reset_on = "AT" if args.kind == "reset" else None
        return {"sim": state.sim or "absent", "registration": state.registration, "rssi": state.rssi,
                "sent": [{"to": number, "text": text} for number, text in state.sent]}

    async def close(self) -> None:
        self.modem.close()


def build(config: Config, hardware: Hardware) -> SimModem | None:
    if not hardware.simulated or not config["modem"]["port"]:
        return None
    return SimModem(config, hardware)
