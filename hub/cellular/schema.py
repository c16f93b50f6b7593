"""The `[modem]` section: the cellular modem's port and who is texted when the platform is out of reach."""

from hub.config.keys import Key, Section

MODEM = Section(
    "modem",
    "Cellular modem: texts the duty numbers when an alarm cannot reach the platform, and rings telephone "
    "numbers of [voice_call] targets (optional).",
    {
        "port": Key(
            None,
            "Serial device of the modem's AT port; absent = no modem fitted.",
            kind=str,
            optional=True,
            example="/dev/ttyUSB2",
        ),
        "baudrate": Key(
            115200, "AT port speed.", choices=(9600, 19200, 38400, 57600, 115200, 230400, 460800)
        ),
        "sms_numbers": Key(
            [],
            "Duty numbers that get an SMS when an alarm has not reached the platform, in order; a reply "
            "starting with 1 from one of them acknowledges it.",
            kind=list,
            example=["+8613800138000"],
            rule=lambda numbers: numbers_problem(numbers),
        ),
        "sms_after_s": Key(
            30,
            "Seconds an alarm may wait for the platform before it is also sent by SMS.",
            min=5,
            max=3600,
        ),
        "sms_retry_s": Key(
            30,
            "Seconds before an SMS the mobile network refused (CMS ERROR) is sent to that number again; the "
            "network rarely changes its mind sooner, and retrying faster only adds refusals.",
            min=5,
            max=3600,
        ),
        "poll_s": Key(60, "How often SIM, registration, signal and IMS (VoLTE) are read for status.", min=10,
                      max=3600),
        "call_listen_s": Key(
            60,
            "Voice calls by the modem: seconds after the responder picks up for them to press 1 (按1确认) "
            "before the hub hangs up.",
            min=10,
            max=600,
        ),
    },
)

SECTIONS: list[Section] = [MODEM]


def numbers_problem(numbers: list[object]) -> str:
    """The rule of modem.sms_numbers (the loader runs it; the provisioning wizard asks with it)."""
    for n in numbers:
        if not (isinstance(n, str) and n.lstrip("+").isdigit() and 5 <= len(n.lstrip("+")) <= 20):
            return f"{n!r} is not a phone number (digits, an optional leading +, 5 to 20 long)"
    return ""
