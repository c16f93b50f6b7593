"""A simulated 4G modem for `hub run --simulate`: the EC25-class model (drivers/fakes/modem.py) on a real
pseudo-terminal, reached through pyserial exactly as the USB AT port on a Pi. Verbs:

    hub sim modem status                      SIM, registration, signal and the SMS the network took
    hub sim modem sms FROM TEXT...            a text arrives from FROM (a duty officer's reply: "1")
    hub sim modem sim absent|present          take the SIM out / put it back
    hub sim modem network home|searching|denied|roaming
    hub sim modem signal RSSI                 +CSQ 0..31 (99 = unknown)
    hub sim modem fault sms|reset|reboot|clear  the network refuses SMS / the module resets on its next command
                                              / resets now (a call under way is lost)
    hub sim modem callee NUMBER answer [--after S] [--press KEYS] [--hang-up-after S]
    hub sim modem callee NUMBER busy|no-answer  how NUMBER behaves when the hub rings it
    hub sim modem press KEYS                  the far end of the call under way presses keys ("1" acknowledges)
    hub sim modem hangup                      the far end hangs up
    hub sim modem call FROM                   FROM rings the hub (RING, +CLIP)
    hub sim modem ims auto|on|off             the module's AT+QCFG="ims" setting
    hub sim modem voice cs|volte-only         the carrier still has 2G/3G voice / only VoLTE (Unicom, Telecom)
    hub sim modem vendor quectel|simcom       the module's AT dialect (EC25 / SIM7600)
"""

from __future__ import annotations

from typing import Any

from drivers.fakes.modem import FakeModem
from drivers.fakes.modem_calls import Callee
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.control import ControlError
from hub.core.simulation import SimArgumentError, SimParser

_NETWORK = {"home": 1, "searching": 2, "denied": 3, "roaming": 5}
_IMS = {"auto": 0, "on": 1, "off": 2}


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
        fault.add_argument("kind", choices=("sms", "reset", "reboot", "clear"))
        callee = sub.add_parser("callee")
        callee.add_argument("number")
        callee.add_argument("behaviour", choices=("answer", "busy", "no-answer"))
        callee.add_argument("--after", type=float, default=2.0, help="seconds of ringing before answering")
        callee.add_argument("--press", default="", help="keys pressed once answered")
        callee.add_argument("--hang-up-after", type=float, default=None)
        sub.add_parser("press").add_argument("keys")
        sub.add_parser("hangup")
        sub.add_parser("call").add_argument("caller")
        sub.add_parser("ims").add_argument("setting", choices=tuple(_IMS))
        sub.add_parser("voice").add_argument("network", choices=("cs", "volte-only"))
        sub.add_parser("vendor").add_argument("name", choices=("quectel", "simcom"))
        self.parser = parser

    async def start(self, ctx: HubContext) -> None:
        ctx.add_sim_command("modem", self._verb)

    async def _verb(self, argv: list[str]) -> dict[str, Any]:
        if not argv:
            raise SimArgumentError("缺少动作 say what: status | sms FROM TEXT | sim | network | signal | fault"
                                   " | callee | press | hangup | call | ims | voice | vendor")
        args = self.parser.parse_args(argv)
        state, calls = self.modem.state, self.modem.calls
        try:
            self._call_verb(args)
        except RuntimeError as exc:  # "no call is up": say so to whoever typed it
            raise ControlError(f"{args.what}: 现在不行 {exc}") from None
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
            if args.kind == "reboot":
                self.modem.reset_now()
        v = state.voice
        return {"sim": state.sim or "absent", "registration": state.registration, "rssi": state.rssi,
                "sent": [{"to": number, "text": text, "at": at} for (number, text), at in zip(state.sent, state.sent_at,
                                                                                           strict=False)],
                "vendor": v.vendor, "ims": next(k for k, n in _IMS.items() if n == v.ims_conf), "volte": v.volte,
                "cs_voice": v.cs_voice, "call": calls.current(), "calls": list(v.history)}

    def _call_verb(self, args: Any) -> None:
        v, calls = self.modem.state.voice, self.modem.calls
        if args.what == "callee":
            v.callees[args.number] = Callee(answer_after_s=args.after if args.behaviour == "answer" else None,
                                            busy=args.behaviour == "busy", press=args.press,
                                            hang_up_after_s=args.hang_up_after)
        elif args.what == "press":
            calls.press(args.keys)
        elif args.what == "hangup":
            calls.hang_up_far()
        elif args.what == "call":
            calls.ring_in(args.caller)
        elif args.what == "ims":
            v.ims_conf = _IMS[args.setting]
        elif args.what == "voice":
            v.cs_voice = args.network == "cs"
        elif args.what == "vendor":
            v.vendor = args.name

    async def close(self) -> None:
        self.modem.close()


def build(config: Config, hardware: Hardware) -> SimModem | None:
    if not hardware.simulated or not config["modem"]["port"]:
        return None
    return SimModem(config, hardware)
