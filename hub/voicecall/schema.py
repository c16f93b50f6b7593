"""Config section [voice_call]: the SIP account, who the hub calls after an alarm, and who may call in.

    [voice_call]
    account = "sip:hub-0001@sip.community.example"
    password = "..."
    targets.emergency = [
      { who = "duty", uri = "sip:8001@sip.community.example", timeout_s = 30 },
      { who = "family", uri = "sip:13800000000@sip.community.example" },
    ]
    targets.health = [{ who = "doctor", uri = "sip:8101@sip.community.example" }]

docs/voice-call.md explains every key for installers.

The checks that span keys need the SIP driver's and the modem path's parsers; they are imported only
for a section an installer wrote something in: a hub without SIP validates its config without
`drivers.sip` (issue 23: nothing on the start-up path that the first press does not need). The
defaults pass the same checks (tests/test_voice_call_rules.py).
"""

from __future__ import annotations

from typing import Any

from hub.config.keys import Key, Section

KINDS = ("emergency", "health", "service", "family")  # the call kinds of [[buttons]]
ROLES = ("duty", "doctor", "family", "neighbour")  # who a target is: what the resident is told
TARGET_KEYS = {"who", "uri", "timeout_s"}
ALARM_KINDS = ("fall", "fire", "heat", "cold", "inactivity", "health")  # alarm.<kind>, health.alert
AUTO_ANSWER_DEFAULT = ("emergency", "fall", "fire")

VOICE_CALL = Section(
    "voice_call",
    "Two-way speech over SIP after an alarm (baresip). Absent account = no voice calls.",
    {
        "account": Key(None, "The hub's SIP address of record; absent = voice calls off.", kind=str, optional=True,
                       example="sip:hub-0001@sip.community.example"),
        "password": Key(None, "Password of the account (digest authentication).", kind=str, optional=True,
                        secret=True, example="change-me"),
        "auth_user": Key(None, "Authentication user, if the server wants one other than the account's.",
                         kind=str, optional=True, example="hub-0001"),
        "display_name": Key("", "Name shown to whoever the hub calls (e.g. the resident reference)."),
        "register": Key(True, "Register with the SIP server (false: direct calls to sip:user@address only)."),
        "register_interval_s": Key(600, "Registration refresh interval.", min=60, max=86400),
        "outbound": Key(None, "Outbound proxy URI, if the server needs one.", kind=str, optional=True,
                        example="sip:sip.community.example;transport=tcp"),
        "listen": Key("auto:5060", "Where baresip listens for SIP, 'HOST:PORT': HOST 'auto' (the one address facing "
                      "the SIP server; loopback without registration), an interface name (eth0) or one address "
                      "of this unit; never 0.0.0.0 (every interface)."),
        "accept_from": Key([], "Besides the SIP server (the outbound proxy, else the account's host, its port), "
                           "who may send the hub calls: 'host' (any port) or 'host:port', e.g. a second proxy. "
                           "INVITEs from anywhere else are refused unseen.", kind=list),
        "rtp_ports": Key("", "RTP port range 'LOW-HIGH' for a firewall ('' = baresip's choice)."),
        "audio_source": Key("alsa,default", "baresip audio source 'module,device': the microphone."),
        "audio_player": Key("alsa,default", "baresip audio player 'module,device': the speaker."),
        "echo_cancel": Key(True, "Load baresip's webrtc_aec echo canceller; false when the speakerphone "
                           "cancels echo itself (Debian's baresip-core does not package webrtc_aec)."),
        "mixer_control": Key("PCM", "ALSA mixer control set to speaker_volume_pct when a call starts "
                             "('' = leave the mixer alone; list them with `amixer scontrols`)."),
        "mixer_card": Key("", "ALSA card of that control ('' = the default card)."),
        "speaker_volume_pct": Key(100, "Speaker level during calls, percent: the hub's maximum.", min=0, max=100),
        "ring_timeout_s": Key(30.0, "How long a target rings before the hub tries the next one.", min=5, max=300),
        "auto_answer_min": Key(15.0, "After an alarm of auto_answer_kinds (not cancelled), answer targets and "
                               "allowed callers hands-free for this many minutes (0 = never auto-answer).",
                               min=0, max=1440),
        "auto_answer_kinds": Key(list(AUTO_ANSWER_DEFAULT), "Which alarms open the auto-answer window: call kinds ("
                                 f"{', '.join(KINDS)}) and alarms ({', '.join(ALARM_KINDS)}).", kind=list),
        "allowed_callers": Key([], "Who else may be auto-answered besides the targets: full SIP URIs "
                               "(sip:user@host); a bare number would match any host, so it is refused.", kind=list),
        "refused_summary_s": Key(300.0, "Refused stranger INVITEs are counted and reported once per this many "
                                 "seconds as one voice.refused event.", min=1, max=86400),
        "targets": Key(None, "Who to call for each kind of alarm, in order: kind -> list of "
                       "{ who = duty|doctor|family|neighbour, uri = ..., timeout_s = ... }; with a 4G modem "
                       "([modem] port) a uri 'tel:+86...' is rung by the modem, as is any telephone number "
                       "while SIP is off or down (the responder presses 1 to acknowledge).", kind=dict,
                       optional=True, example={
                           "emergency": [{"who": "duty", "uri": "sip:8001@sip.community.example", "timeout_s": 30},
                                         {"who": "family", "uri": "sip:13800000000@sip.community.example"}],
                           "health": [{"who": "doctor", "uri": "sip:8101@sip.community.example"}]}),
        "audio_dump_dir": Key(None, "Commissioning only: write every call's audio as WAV files here (baresip "
                              "sndfile). It records the resident: never leave it set.", kind=str, optional=True,
                              example="/var/lib/eldercare-hub/call-audio"),
        "baresip": Key("baresip", "The baresip program (apt-get install baresip-core)."),
    },
)

SECTIONS: list[Section] = [VOICE_CALL]


def check(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    v = cfg["voice_call"]
    if v == {name: key.default for name, key in VOICE_CALL.keys.items()}:
        return []  # nothing written in [voice_call]: its defaults pass (check_section), no SIP code loaded
    return check_section(v, bool(cfg.get("modem", {}).get("port")))


def check_section(v: dict[str, Any], have_modem: bool) -> list[tuple[str, str]]:
    from drivers.sip.listen import WILDCARDS, listen_problem, split
    from drivers.sip.setup import FORBIDDEN_IN_PARAMS
    from drivers.sip.uri import has_host

    problems: list[tuple[str, str]] = []
    for key in ("password", "auth_user"):
        if v[key] is not None and (set(v[key]) & FORBIDDEN_IN_PARAMS or not v[key]):
            problems.append((f"voice_call.{key}", "must be non-empty, without spaces, quotes, ';', '<' or '>' "
                             "(baresip's account line cannot carry them)"))
    for i, caller in enumerate(v["allowed_callers"]):
        if not isinstance(caller, str) or not has_host(caller):
            problems.append((f"voice_call.allowed_callers[{i}]", "must be a full SIP URI such as "
                             f"sip:8002@sip.community.example (a bare number matches no one), got {caller!r}"))
    if (problem := listen_problem(str(v["listen"]))) is not None:
        problems.append(("voice_call.listen", problem))
    for i, peer in enumerate(v["accept_from"]):
        host, port = split(peer) if isinstance(peer, str) else ("", "x")
        if not host or host in WILDCARDS or not (port == "" or port.isdigit()):
            problems.append((f"voice_call.accept_from[{i}]", f"must be 'host' or 'host:port' of a SIP proxy, "
                             f"got {peer!r}"))
    for i, kind in enumerate(v["auto_answer_kinds"]):
        if kind not in KINDS + ALARM_KINDS:
            problems.append((f"voice_call.auto_answer_kinds[{i}]", f"must be one of {', '.join(KINDS + ALARM_KINDS)}"
                             f", got {kind!r}"))
    low, _, high = v["rtp_ports"].partition("-")
    if v["rtp_ports"] and not (low.isdigit() and high.isdigit() and 1024 <= int(low) < int(high) <= 65535):
        problems.append(("voice_call.rtp_ports", f"must be 'LOW-HIGH' within 1024-65535, got {v['rtp_ports']!r}"))
    problems += _check_targets(v["targets"] or {}, v["account"] is not None, have_modem)
    return problems


def _check_targets(targets: dict[str, Any], have_account: bool, have_modem: bool) -> list[tuple[str, str]]:
    from hub.voicecall.modem_path import telephone_number

    problems: list[tuple[str, str]] = []
    for kind, chain in targets.items():
        where = f"voice_call.targets.{kind}"
        if kind not in KINDS:
            problems.append((where, f"unknown kind; allowed: {', '.join(KINDS)}"))
            continue
        if not isinstance(chain, list):
            problems.append((where, "must be a list of { who = ..., uri = ... } tables"))
            continue
        for i, target in enumerate(chain):
            at = f"{where}[{i}]"
            if not isinstance(target, dict) or set(target) - TARGET_KEYS:
                problems.append((at, f"must be a table with keys {', '.join(sorted(TARGET_KEYS))}"))
            elif target.get("who") not in ROLES:
                problems.append((f"{at}.who", f"must be one of {', '.join(ROLES)}, got {target.get('who')!r}"))
            elif not isinstance(target.get("uri"), str) or not target["uri"].strip():
                problems.append((f"{at}.uri", "must be a SIP URI or a number, e.g. sip:8001@sip.example.org"))
            elif "timeout_s" in target and (isinstance(target["timeout_s"], bool) or not isinstance(
                    target["timeout_s"], int | float) or not 5 <= target["timeout_s"] <= 300):
                problems.append((f"{at}.timeout_s", f"must be a number from 5 to 300, got {target['timeout_s']!r}"))
    uris = [t["uri"] for chain in targets.values() if isinstance(chain, list) for t in chain
            if isinstance(t, dict) and isinstance(t.get("uri"), str)]
    by_modem = have_modem and all(telephone_number(uri) for uri in uris)
    if targets and not have_account and not by_modem:
        problems.append(("voice_call.account", "targets are set but no account: the hub cannot call them (telephone "
                         "numbers alone can go by the 4G modem: set [modem] port)"))
    return problems
