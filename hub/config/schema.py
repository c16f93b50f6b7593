"""The hub's configuration schema: core sections here, feature sections imported from their modules."""

from __future__ import annotations

import ipaddress
from importlib import import_module
from types import ModuleType

from hub.config.keys import Key, Section

BUTTON_KINDS = ("emergency", "health", "service", "family")


def host_problem(host: str) -> str:
    """A broker host the hub could not connect to as written: a port or a scheme in it, spaces, empty."""
    bare = host.strip()
    if not bare:
        return "空的 empty: give the broker's host name or IP address"
    if "://" in bare:
        return (f"{host!r}: 只写主机名 give the host name only, without {bare.split('://')[0]}://; "
                "the port goes in the port question ([mqtt] port)")
    if ":" in bare:
        try:
            ipaddress.IPv6Address(bare)
            return ""
        except ValueError:
            name, _, port = bare.rpartition(":")
            return (f"{host!r} 里有端口 has a port in it: write the host only ({name!r}) and put the port in "
                    f"the port question ([mqtt] port = {port or '8883'})")
    if bare != host or any(c.isspace() or c in "/[]@" for c in bare):
        return f"{host!r} 不是主机名 is not a host name or IP address (no spaces, '/', '@' or brackets)"
    return ""


def topic_level_problem(hub_id: str) -> str:
    """A hub id that cannot be one MQTT topic level: '/' splits it, '+' and '#' are wildcards (the hub's
    own subscriptions would be refused or match other hubs), spaces are an installer's typo."""
    bad = sorted({c for c in hub_id if c in "/+#" or c.isspace() or ord(c) < 32})
    if not bad:
        return ""
    shown = " ".join(repr(c) for c in bad)
    return (f"{hub_id!r} 含有不能用于主题的字符 has characters an MQTT topic level cannot hold ({shown}): "
            "use the id exactly as the platform issued it (letters, digits, '-', '_', '.')")


def prefix_problem(prefix: str) -> str:
    """A topic prefix with a wildcard or an empty level: the hub could not subscribe under it."""
    if any(c in prefix for c in "+#") or any(c.isspace() for c in prefix):
        return (f"{prefix!r} 含有通配符或空格 has a wildcard ('+', '#') or a space: give the platform's "
                "prefix, e.g. \"eldercare/v1\"")
    if not prefix.strip("/") or "//" in prefix.strip("/"):
        return f"{prefix!r} 有空的层级 has an empty level: give the platform's prefix, e.g. \"eldercare/v1\""
    return ""


def zone_problem(name: str) -> str:
    """A zone this machine's time-zone database does not know (the hub would fall back to the system's)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        try:
            ZoneInfo("UTC")
        except ZoneInfoNotFoundError:
            return ""  # no time-zone database here at all: nothing to judge by
        return (f"{name!r} 不是时区 is not a time zone this unit knows: an IANA name such as "
                "\"Asia/Shanghai\" (tz database)")
    return ""


HUB = Section("hub", "Identity and storage of this unit.", {
    "id": Key("demo-0001", "Unit id issued by the platform; also the MQTT client id.", min=1, max=64,
              rule=topic_level_problem),
    "state_dir": Key("/var/lib/eldercare-hub", "Where the queue, prompt cache and control socket live; "
                     "a relative path is read from the folder of this file (`hub config check` prints it "
                     "in full)."),
    "resident_ref": Key("", "Resident reference on the platform (no names: a reference only)."),
    "community_ref": Key("", "Community / service-centre reference on the platform."),
    "timezone": Key("Asia/Shanghai", "IANA zone used for event time stamps and day/night rules.",
                    rule=zone_problem),
    "log_level": Key("INFO", "Log level.", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
})

MQTT = Section("mqtt", "Connection to the community platform's broker.", {
    "host": Key("localhost", "Broker host name or address, without a port (that is [mqtt] port).",
                rule=host_problem),
    "port": Key(1883, "Broker port (8883 is usual with TLS).", min=1, max=65535),
    "topic_prefix": Key("eldercare/v1", "Prefix of every topic: {prefix}/{hub id}/...", rule=prefix_problem),
    "username": Key(None, "User name, if the broker wants one.", kind=str, optional=True, example="hub-0001"),
    "password": Key(None, "Password for username.", kind=str, optional=True, secret=True,
                    example="change-me"),
    "keepalive_s": Key(30, "MQTT keepalive in seconds. 30 keeps the hub's TCP mapping alive through home "
                       "routers and carrier NAT that forget an idle connection after 60 s; the broker "
                       "drops a silent hub (and sends its Last Will) after 1.5 x this, and the hub pings "
                       "after half of it without a word from the broker.", min=5, max=600),
    "puback_timeout_s": Key(5.0, "A call or alarm without PUBACK this long, with nothing heard from the "
                            "broker since it was sent: ping the broker at once.", min=1, max=120),
    "ping_timeout_s": Key(5.0, "No answer to that ping this long: the link is dead (a half-open "
                          "connection); reconnect and resend.", min=1, max=120),
    "duplicate_backoff_max_s": Key(300.0, "Another device took this hub's client id: wait 5 s, 10 s, ... up "
                                   "to this long before connecting again, instead of taking it back at "
                                   "once (fault.duplicate_id after two takeovers in a row).", min=5, max=3600),
    "session_expiry_s": Key(86400, "MQTT 5 session expiry: QoS 1 state kept this long offline.",
                            min=0, max=4294967295),
    "reconnect_min_s": Key(0.5, "First reconnect delay; doubles each failure, with jitter.",
                           min=0.05, max=60),
    "reconnect_max_s": Key(60.0, "Cap on the reconnect delay.", min=1, max=3600),
    "status_interval_s": Key(30, "How often the retained status is refreshed.", min=1, max=60),
    "max_inflight": Key(32, "QoS 1 messages awaiting PUBACK at once.", min=1, max=1000),
    "resubscribe_grace_s": Key(3.0, "After reconnecting to a broker that lost its sessions (so the platform's "
                               "subscriptions too), wait this long before sending the backlog.", min=0, max=60),
    "max_payload_bytes": Key(65536, "Commands larger than this are ignored and logged.",
                             min=256, max=268435455),
}, sub={"tls": {
    "ca": Key(None, "CA certificate (PEM) that signed the broker's certificate.", kind=str, optional=True,
              example="/etc/eldercare-hub/ca.pem"),
    "cert": Key(None, "This unit's client certificate (PEM).", kind=str, optional=True,
                example="/etc/eldercare-hub/client.pem"),
    "key": Key(None, "This unit's private key (PEM).", kind=str, optional=True, secret=True,
               example="/etc/eldercare-hub/client.key"),
    "insecure": Key(False, "Skip host name check (never in the field)."),
}})

BUTTONS = Section("buttons", "Call buttons: one [[buttons]] table per button.", {
    "pin": Key(17, "BCM GPIO number; button to ground, internal pull-up.", min=0, max=27),
    "kind": Key("emergency", "What a press asks for.", choices=BUTTON_KINDS),
    "led_pin": Key(None, "LED beside this button (optional; else the status LED).", kind=int,
                   optional=True, min=0, max=27, example=5),
    "bounce_ms": Key(30, "Contact bounce filter.", min=0, max=500),
}, many=True, default_items=[{"pin": 17, "kind": "emergency"}])

CALLS = Section("calls", "How a call behaves after the press.", {
    "guard_s": Key(10.0, "A hold within this many seconds of the press cancels the call.", min=0, max=120),
    "cancel_hold_s": Key(3.0, "How long a hold cancels.", min=0.5, max=30),
    "stuck_after_s": Key(120.0, "A call button held down this long is stuck (no new call can come from it): "
                                "fault.sensor to the platform until it is let go.", min=30, max=3600),
    "ack_timeout_s": Key(60.0, "No ack after this long: call.escalated and re-announce.", min=1, max=3600),
    "reannounce_s": Key(30.0, "First reminder gap after escalation; the reminder (one for every open call) "
                              "then backs off to 4x and 10x it, then reannounce_slow_s.", min=1, max=3600),
    "reannounce_count": Key(16, "No longer used (the reminder backs off instead); kept so older configs stay "
                                "valid.", min=0, max=1000),
    "reannounce_slow_s": Key(600.0, "Longest gap between reminders.", min=1, max=86400),
})

OUTBOX = Section("outbox", "The durable event queue.", {
    "max_rows": Key(200000, "Bound on queued events; telemetry is evicted oldest first past it.",
                    min=100, max=10000000),
    "storage_retry_s": Key(10.0, "While the SD card refuses writes (full, read-only), try it again this often; "
                           "calls go out from memory meanwhile.", min=0.2, max=3600.0),
})

OUTPUTS = Section("outputs", "LEDs and buzzer.", {
    "status_led_pin": Key(5, "Status LED: blink = calling, steady = acknowledged, slow flash = offline.",
                          min=0, max=27),
    "buzzer_pin": Key(6, "Active buzzer.", min=0, max=27),
})

VOICE = Section("voice", "Spoken prompts: recordings from a voice pack where there are some, espeak-ng for the rest.", {
    "enabled": Key(True, "Speak prompts at all."),
    "language": Key("zh", "Prompt language first spoken.", choices=("zh", "en")),
    "also_english": Key(False, "Follow each Mandarin prompt with the English text."),
    "espeak_voice": Key("auto", "espeak-ng voice for Mandarin; 'auto' picks the installed voice that reads Han "
                        "characters as Mandarin (checked at start-up). A voice that does not is refused and "
                        "logged ('cmn' on espeak-ng 1.51 spells pinyin in English)."),
    "speed_wpm": Key(140, "Speech rate; slower is clearer for older listeners.", min=80, max=260),
    "volume": Key(100, "Loudness in percent of level_db (amplitude; 200 = twice, +6 dB, limited so it never "
                  "clips).", min=0, max=200),
    "level_db": Key(-23.0, "Speech level every prompt is normalised to (dBFS RMS of the voiced parts, with "
                    "sox), recordings and TTS alike.", min=-40.0, max=-10.0),
    "pack": Key("", "Voice pack folder (recorded prompts, docs/voice.md); '' = the pack `hub voice import` "
                "installed in state_dir/voice-pack, if any."),
    "prerender": Key(True, "Render the prompts without fields at start-up, so the first one is heard at once."),
    "player": Key("aplay", "Command that plays a WAV file."),
    "device": Key("", "ALSA device for the player ('' = default)."),
    "spoken_days": Key(8, "Days the record of what was said is kept (state_dir/spoken, `hub spoken`).", min=7, max=90),
    "operator_names": Key({}, "Operator login -> the name the resident hears in Han characters, e.g. { duty01 = "
                          "\"王芳\" }; a login without one (and no by_name from the platform) is heard as 工作人员.",
                          kind=dict),
})

RESIDENT = Section("resident", "What a responder is told about the home in every alarm's context card and SMS "
                   "(hub.alarms.card). References on the platform only: never a name, phone number or "
                   "full address.", {
    "reference": Key("", "Resident reference ('' = [hub] resident_ref).", min=0, max=32),
    "address_ref": Key("", "Address reference on the platform (a building/door code such as 'B3-1202', "
                       "not the street address).", min=0, max=32),
    "contacts_ref": Key("", "Reference of the resident's contact list on the platform.", min=0, max=32),
    "notes": Key("", "Short notes for responders, e.g. '钥匙在门卫室' (key at the gatehouse); no health "
                 "details or secrets.", min=0, max=60),
    "motion_room": Key("", "Room the PIR watches, named in the card's last motion (e.g. '客厅').", min=0, max=12),
})

CORE_SECTIONS = [HUB, MQTT, BUTTONS, CALLS, OUTBOX, OUTPUTS, VOICE, RESIDENT]


def feature_modules() -> list[ModuleType]:
    """Feature schema modules: `SECTIONS`, and optionally `used_pins(cfg) -> {pin: key}` and
    `check(cfg) -> [(key, problem)]` for checks that span keys."""
    return [import_module(name) for name in _FEATURE_MODULES]


def all_sections() -> list[Section]:
    """Core sections plus those the feature modules declare."""
    sections = list(CORE_SECTIONS)
    for module in feature_modules():
        sections.extend(module.SECTIONS)
    return sections


# Feature modules that declare `SECTIONS: list[Section]`; imported lazily so schema stays cheap.
_FEATURE_MODULES: list[str] = [
    "hub.home.schema",
    "hub.health.schema",
    "hub.detect.schema",
    "hub.device.schema",
    "hub.certificates.schema",
    "hub.voicecall.schema",
    "hub.cellular.schema",
    "hub.escalation.schema",
    "hub.update.schema",
    "hub.remote_config.schema",
    "hub.homeassistant.schema",
    "hub.wellbeing.schema",
    "hub.provision.web.schema",
    "hub.zigbee.schema",
    "hub.notices.schema",
    "hub.triggers.schema",
]
