"""What `config/desired` may change: an explicit allowlist, one reason per entry (docs/fleet.md).

Platform credentials must not be enough to run code on the unit, open its microphone, record it, turn
off its trust in the broker or the release key, or keep a broken change longer. So every key falls in
one of three classes, and a key in none of them is refused (default deny; tests/test_remote_config_allow.py
checks that every key of the schema is classified, so a new key is a decision, not an accident):

- REMOTE: the platform may set it; it is bounded by the schema and undone by the rollback guard.
- CONFIRM: the wiring of the unit (buttons, pins, what is fitted): a wrong value makes real presses or
  sensors do nothing, which no broker round trip can notice. Held as "pending local confirmation"
  until a technician at the unit runs `hub config apply`.
- NEVER: trust anchors, TLS, executables and paths, recording, who is answered hands-free, and the
  remote-configuration limits themselves. Only a technician (`hub provision`, or editing hub.toml).

A rule names a dotted key (`calls.guard_s`), a whole section or table (`calls.*`) or a prefix with
everything under it (`voice_call.targets` also covers `voice_call.targets.duty`); the most specific rule
wins. Pure: no I/O.
"""

from __future__ import annotations

REMOTE, CONFIRM, NEVER = "remote", "confirm", "never"

_TUNING = "a bound or interval within the schema's range; a bad value is undone by the rollback guard"
_PINS = "wiring of this unit: a wrong pin makes real presses or sensors do nothing, and no message to the " \
        "broker can tell; a technician confirms it at the unit"
_FITTED = "what is fitted to this unit: switching it off stops a detector, which no message to the broker " \
          "can tell; a technician confirms it at the unit"
_CONFIRM = "a technician confirms it at the unit"
_SOUND = "the sound card of this unit: a wrong one silences the unit, which no message to the broker can tell; " \
         + _CONFIRM
_PATH = "a file or directory on the unit: the platform must not choose what the hub reads, writes or runs"
_EXEC = "a program the hub executes: platform credentials must not be enough to run code on the unit"
_TLS = "TLS trust: the platform must not be able to turn off the checks that authenticate it"
_LIMIT = "a limit of remote configuration itself: a document must not widen the limits it is checked against"
_PROOF = "confirmed only when the hub's own probe comes back through the new broker and the platform acks it " \
         "there (cmd/config_ack), else rolled back"
_PEOPLE = "contacts the platform already manages; they can only acknowledge, which cmd/ack can do anyway"

# Section -> key -> rule: "*" is every key of the section not named on its own, "" the whole table or
# array (`buttons`). Written per section so no dotted key reads like an event type to a docs check.
_SECTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "hub": {
        "id": (NEVER, "names this hub's topics and MQTT client id"),
        "state_dir": (NEVER, "holds the queue of unsent calls; " + _PATH),
        "resident_ref": (REMOTE, "a reference on the platform, no personal data"),
        "community_ref": (REMOTE, "a reference on the platform, no personal data"),
        "timezone": (REMOTE, "time stamps and day/night rules; checked against the zone database"),
        "log_level": (REMOTE, "diagnostics only"),
    },
    "mqtt": {
        "*": (REMOTE, "connection tuning: " + _TUNING),
        "host": (REMOTE, "moving brokers: " + _PROOF),
        "port": (REMOTE, "moving brokers: " + _PROOF),
        "username": (REMOTE, "credential rotation: " + _PROOF),
        "password": (REMOTE, "credential rotation: " + _PROOF),
        "topic_prefix": (NEVER, "names this hub's topics"),
        "tls": (NEVER, _TLS + " (ca, cert, key, insecure)"),
    },
    # --- the unit's wiring and what it says ----------------------------------------------------------
    "buttons": {"": (CONFIRM, _PINS)},
    "outputs": {"*": (CONFIRM, _PINS)},
    "calls": {"*": (REMOTE, "call timing: " + _TUNING)},
    "outbox": {"*": (REMOTE, "queue bounds: " + _TUNING)},
    "voice": {
        "*": (REMOTE, "how prompts sound: language, rate, loudness"),
        "pack": (NEVER, _PATH),
        "player": (NEVER, _EXEC),
        "device": (CONFIRM, _SOUND),
    },
    "resident": {"*": (REMOTE, "references on the platform for responders, no personal data")},
    # --- sensors and detectors -------------------------------------------------------------------------
    "sensors": {"*": (REMOTE, _TUNING), "i2c_bus": (CONFIRM, _PINS)},
    "motion": {"*": (REMOTE, _TUNING), "fitted": (CONFIRM, _FITTED), "pin": (CONFIRM, _PINS)},
    "smoke": {
        "*": (REMOTE, "detector thresholds and timing within the schema's range"),
        "kind": (CONFIRM, _FITTED),
        "room": (REMOTE, "the room the warning names, a label as [resident] motion_room is (12 characters)"),
        **{key: (CONFIRM, _PINS) for key in ("relay_pin", "relay_active_low", "trouble_pin", "adc_address",
                                             "adc_channel", "adc_full_scale_v", "supply_v", "divider")},
    },
    "temperature": {
        "*": (REMOTE, "alarm thresholds and timing within the schema's range"),
        "part": (CONFIRM, _FITTED),
        "address": (CONFIRM, _PINS),
    },
    "power": {"*": (REMOTE, _TUNING), "fitted": (CONFIRM, _FITTED), "good_pin": (CONFIRM, _PINS),
              "low_battery_pin": (CONFIRM, _PINS)},
    "ble": {
        "*": (REMOTE, "meter timing: " + _TUNING),
        "enabled": (CONFIRM, _FITTED),
        "adapter": (CONFIRM, _PINS),
        "extra_profiles": (NEVER, _PATH),
    },
    "health_grading": {"*": (REMOTE, "clinical thresholds the platform's clinicians own")},
    "fall": {
        "*": (REMOTE, "fall detection tuning within the schema's range"),
        "up_axis": (CONFIRM, "how the wearable is clipped on: " + _PINS),
        "radar_port": (CONFIRM, _PINS),
        "radar_baud": (CONFIRM, _PINS),
        "wearable_address": (CONFIRM, _FITTED),
    },
    "inactivity": {"*": (REMOTE, "the resident's routine, learned and tuned by the platform"),
                   "away_button_pin": (CONFIRM, _PINS)},
    "doors": {"": (CONFIRM, _PINS)},
    "mats": {"": (CONFIRM, _PINS)},
    "checkin": {"*": (REMOTE, "the daily check-in's window"), "pins": (CONFIRM, _PINS)},
    "device_health": {"*": (REMOTE, "reporting intervals and warning levels")},
    # --- certificates, voice calls, modem, escalation ----------------------------------------------------
    "certificates": {
        "warn_days": (REMOTE, "when to warn about expiry"),
        "fault_days": (REMOTE, "when to raise fault.certificate"),
        "check_interval_s": (REMOTE, _TUNING),
        "key_type": (NEVER, _TLS),
        "rotation_timeout_s": (NEVER, "the rollback bound of a certificate rotation; " + _LIMIT),
    },
    "voice_call": {
        "*": (NEVER, "who the unit calls and answers hands-free, and where its audio goes: platform credentials "
                     "must not open the resident's microphone"),
        "password": (REMOTE, "SIP credential rotation for the same account"),
        "display_name": (REMOTE, "the name shown to whoever the hub calls"),
        "register_interval_s": (REMOTE, _TUNING),
        "ring_timeout_s": (REMOTE, _TUNING),
        "speaker_volume_pct": (REMOTE, "loudness during calls"),
        "echo_cancel": (REMOTE, "audio processing only"),
        "rtp_ports": (REMOTE, "the RTP port range for a firewall"),
        "mixer_control": (CONFIRM, _SOUND),
        "mixer_card": (CONFIRM, _SOUND),
    },
    "modem": {"*": (REMOTE, _TUNING), "port": (CONFIRM, _PINS), "baudrate": (CONFIRM, _PINS),
              "sms_numbers": (REMOTE, "duty numbers: " + _PEOPLE)},
    "escalation": {"*": (REMOTE, "the escalation chain: " + _PEOPLE)},
    # --- trust and limits ----------------------------------------------------------------------------------
    "update": {"*": (NEVER, "release trust and the update's own rollback bounds: whoever sets the release key "
                            "can run any code on the unit")},
    "remote_config": {"*": (NEVER, _LIMIT)},
    "homeassistant": {"*": (REMOTE, "the family bridge, enabled on the resident's consent recorded by the platform")},
    "notices": {"*": (REMOTE, "what cmd/notice may ask and the resident's day hours: " + _TUNING)},
    "inactivity_rules": {"": (REMOTE, "the community's dwell, not-up-by and out-at-night rules for this home; "
                                      "each asks the resident before any alarm")},
    "wellbeing": {"*": (REMOTE, "what the daily summary counts, when its day starts, and the report's size: "
                                + _TUNING)},
    "setup_mode": {"*": (NEVER, "the set-up page opens a hotspot and a page that writes the config: only a "
                                "technician at the unit decides when and where it may listen")},
    "zigbee": {"*": (CONFIRM, _FITTED)},
    "reminders": {"": (REMOTE, "the care plan's medication and measurement times, set by the community doctor; "
                               "a reminder can only speak a catalogue prompt and count a press or a reading")},
    "supervision": {"*": (REMOTE, "wireless trigger supervision and the weekly test's day and time, within the "
                                  "schema (never over 24 h)")},
    "triggers": {"": (CONFIRM, "which wireless triggers may raise a call here, and their bind keys: binding a "
                               "stranger's device or dropping the resident's pendant cannot be noticed over the "
                               "broker; " + _CONFIRM)},
}

RULES: dict[str, tuple[str, str]] = {
    f"{section}.{key}" if key else section: rule for section, keys in _SECTIONS.items() for key, rule in keys.items()}


def classify(key: str) -> tuple[str, str]:
    """(class, reason) of a dotted key from document.diff ('buttons', 'mqtt.tls.ca', 'voice_call.targets.duty');
    a key no rule names is NEVER."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in RULES:  # the key itself, or a table it is in
            return RULES[prefix]
        if n < len(parts) and f"{prefix}.*" in RULES:  # every key of a section
            return RULES[f"{prefix}.*"]
    return NEVER, "not on the list of keys the platform may change (docs/fleet.md)"
