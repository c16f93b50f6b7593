"""The AT dialogue of a 3GPP cellular modem (TS 27.007 general/network, TS 27.005 SMS), as pure functions.

Quectel EC25 and SIMCom SIM7600 class modules speak this on their USB AT port. Everything here takes
and returns text; `drivers/modem/client.py` does the I/O. SMS go in text mode (AT+CMGF=1) with the
UCS2 character set (AT+CSCS="UCS2"), so numbers and bodies travel as hex of UTF-16BE: that is how a
Chinese text fits any module without PDU encoding. One UCS2 message holds 70 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SMS_MAX_CHARS = 70  # one UCS2 SMS (140 octets); longer texts would need concatenated PDUs
CTRL_Z, ESC = "\x1a", "\x1b"

# Final result codes (TS 27.007 §4.1, V.250) that end a command; "+CME ERROR"/"+CMS ERROR" carry a code.
_FINAL_OK = {"OK", "CONNECT"}
_FINAL_FAIL = {"ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE"}
_ERROR_CODE = re.compile(r"^\+(CME|CMS) ERROR:\s*(.+)$")

# Lines a modem sends on its own, at any time (unsolicited result codes): TS 27.007/27.005 ones, and what
# the modules print by themselves after a start or a SIM change (EC25: "+QUSIM: 1", "+QIND: SMS DONE",
# "+QIND: PB DONE"; SIM7600: "SMS DONE", "PB DONE", "Call Ready", "+CPIN: READY" unsolicited). Never handed
# to the command that waits, unless it is that command's own information response (+CPIN: after AT+CPIN?).
_URC_PREFIXES = ("+CMTI:", "+CLIP:", "RING", "+CREG:", "+CEREG:", "+CGREG:", "RDY", "+CPIN:", "NO CARRIER",
                 "+QIND:", "+CRING:", "+CMT:", "+QDTMF:", "+RXDTMF:", "POWERED DOWN", "+QTONEDET:", "BUSY",
                 "NO ANSWER", "VOICE CALL:", "MISSED_CALL:", "PB DONE", "SMS DONE", "SMS Ready", "Call Ready",
                 "+QUSIM:", "+QSTK:", "+CFUN:", "+CGEV:", "+CUSD:", "+CTZV:", "+CTZE:", "+QNITZ:", "*PSUTTZ:",
                 "DST:", "+NITZ:", "+CDSI:", "+CDS:", "+CCWA:", "+CSSI:", "+CSSU:", "+STIN:", "+CIEV:", "+QGPSURC:",
                 "+CMTE:", "+QTEMP:", "+CPSI:", "+CIREGU:", "+QSIMSTAT:", "+CSMINS:", "*ATREADY:", "+QSTKURC:",
                 "+DTMF:", "+QURCCFG:")
# A line longer than this is not AT (V.250 bounds a command line; the longest response, an SMS read in
# UCS2, is under 1 KiB): the client drops it, so a module babbling without a line end cannot grow memory.
MAX_LINE = 4096
# How a voice call that ATD started ends: after `ATD<number>;` has answered OK (AT+COLP=0, the modules'
# default) these come later, on their own, while other commands may be running (TS 27.007 §6.2, V.250).
CALL_ENDED = {"NO CARRIER": "no_carrier", "BUSY": "busy", "NO ANSWER": "no_answer"}

# +CREG/+CEREG <stat> (TS 27.007 §7.2)
REGISTRATION = {0: "not_registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}


@dataclass(frozen=True)
class Final:
    ok: bool
    text: str  # the line itself: "OK", "ERROR", "+CME ERROR: 10"
    code: int | str | None = None  # the CME/CMS error code (numeric with AT+CMEE=1, text with =2)


def final_result(line: str) -> Final | None:
    """The final result code this line is, or None for an intermediate or unsolicited line."""
    line = line.strip()
    if line in _FINAL_OK:
        return Final(True, line)
    if line in _FINAL_FAIL:
        return Final(False, line)
    m = _ERROR_CODE.match(line)
    if m:
        raw = m.group(2).strip()
        return Final(False, line, int(raw) if raw.isdigit() else raw)
    return None


def is_unsolicited(line: str) -> bool:
    return line.strip().startswith(_URC_PREFIXES)


def encode_ucs2(text: str) -> str:
    """Text as the hex of its UTF-16BE code units, for AT+CSCS="UCS2"."""
    return text.encode("utf-16-be").hex().upper()


def decode_ucs2(hextext: str) -> str:
    """The inverse of encode_ucs2; ValueError if it is not UCS2 hex (a module left in "GSM" mode)."""
    raw = hextext.strip().strip('"')
    if not raw or len(raw) % 4 or not re.fullmatch(r"[0-9A-Fa-f]+", raw):
        raise ValueError(f"not UCS2 hex: {hextext!r}")
    return bytes.fromhex(raw).decode("utf-16-be", errors="replace")


def _fields(line: str, prefix: str) -> list[str]:
    """The comma-separated fields after `prefix`, quotes removed (commas inside quotes kept)."""
    body = line.strip()[len(prefix):].strip()
    return [f.strip().strip('"') for f in re.findall(r'"[^"]*"|[^,]+|(?<=,)(?=,)|(?<=,)$', body)]


def parse_csq(line: str) -> int | None:
    """+CSQ: <rssi>,<ber> -> signal in dBm (rssi 0..31 = -113..-51 dBm), None when 99 (not known)."""
    if not line.startswith("+CSQ:"):
        raise ValueError(f"not a +CSQ line: {line!r}")
    rssi = int(_fields(line, "+CSQ:")[0])
    if rssi == 99:
        return None
    if not 0 <= rssi <= 31:
        raise ValueError(f"+CSQ rssi out of range: {line!r}")
    return -113 + 2 * rssi


def parse_registration(line: str, reply: bool) -> str:
    """+CREG/+CEREG/+CGREG -> a word. A reply to `AT+CREG?` is `<n>,<stat>[,...]`; the unsolicited form
    (after AT+CREG=1/2) is `<stat>[,...]`: only the caller knows which it asked for."""
    prefix = line.split(":", 1)[0] + ":"
    if prefix not in ("+CREG:", "+CEREG:", "+CGREG:"):
        raise ValueError(f"not a registration line: {line!r}")
    fields = _fields(line, prefix)
    raw = fields[1] if reply and len(fields) > 1 else fields[0]
    if not raw.isdigit():
        raise ValueError(f"malformed registration line: {line!r}")
    return REGISTRATION.get(int(raw), "unknown")


def registered(word: str) -> bool:
    return word in ("home", "roaming")


def parse_cpin(line: str) -> str:
    """+CPIN: READY | SIM PIN | SIM PUK | ... -> the state text."""
    if not line.startswith("+CPIN:"):
        raise ValueError(f"not a +CPIN line: {line!r}")
    return line.split(":", 1)[1].strip()


def parse_cmti(line: str) -> tuple[str, int]:
    """+CMTI: "SM",3 -> (memory, index) of a newly stored SMS."""
    fields = _fields(line, "+CMTI:")
    if len(fields) != 2 or not fields[1].isdigit():
        raise ValueError(f"malformed +CMTI: {line!r}")
    return fields[0], int(fields[1])


def parse_clip(line: str) -> str:
    """+CLIP: "<number>",<type>,... -> the caller's number (may be empty when withheld)."""
    return _fields(line, "+CLIP:")[0]


@dataclass(frozen=True)
class ReceivedSms:
    sender: str
    body: str
    status: str  # "REC UNREAD", "REC READ"
    stamp: str  # the service centre's time stamp as the modem gives it


def parse_cmgr(lines: list[str], ucs2: bool = True) -> ReceivedSms:
    """Text-mode AT+CMGR=<index> reply: `+CMGR: <stat>,<oa>,[<alpha>],<scts>` then the body line(s)."""
    head = next((i for i, line in enumerate(lines) if line.startswith("+CMGR:")), None)
    if head is None:
        raise ValueError(f"no +CMGR header in {lines!r}")
    fields = _fields(lines[head], "+CMGR:")
    if len(fields) < 2:
        raise ValueError(f"malformed +CMGR header: {lines[head]!r}")
    status, sender = fields[0], fields[1]
    stamp = fields[3] if len(fields) > 3 else ""
    body = "\n".join(lines[head + 1:]).strip()
    if ucs2:
        sender = _maybe_ucs2(sender)
        body = _maybe_ucs2(body)
    return ReceivedSms(sender, body, status, stamp)


def _maybe_ucs2(text: str) -> str:
    """Modules in UCS2 mode send hex; some still send plain digits for the number. Decode what is hex."""
    try:
        return decode_ucs2(text)
    except ValueError:
        return text


def parse_cmgs(line: str) -> int:
    """+CMGS: <mr> -> the message reference of a sent SMS."""
    fields = _fields(line, "+CMGS:")
    if not fields or not fields[0].isdigit():
        raise ValueError(f"malformed +CMGS: {line!r}")
    return int(fields[0])


def fit_sms(text: str) -> str:
    """At most one UCS2 SMS; a longer text is cut with an ellipsis (the id and time come first)."""
    return text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1] + "…"


# --- voice calls (TS 27.007 §7.18 +CLCC; Quectel AT+QTONEDET, SIMCom AT+DDET; Quectel AT+QCFG="ims") -----------
CALL_STATES = {0: "active", 1: "held", 2: "dialing", 3: "alerting", 4: "incoming", 5: "waiting"}


@dataclass(frozen=True)
class CallLine:
    index: int
    outgoing: bool
    state: str  # CALL_STATES
    voice: bool  # <mode> 0
    number: str


def parse_clcc(line: str) -> CallLine:
    """+CLCC: <idx>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>[,...]] -> one call of AT+CLCC's list."""
    fields = _fields(line, "+CLCC:")
    if len(fields) < 5 or not all(f.isdigit() for f in fields[:5]):
        raise ValueError(f"malformed +CLCC: {line!r}")
    stat = int(fields[2])
    if stat not in CALL_STATES:
        raise ValueError(f"+CLCC call state out of range: {line!r}")
    return CallLine(int(fields[0]), fields[1] == "0", CALL_STATES[stat], fields[3] == "0",
                    fields[5] if len(fields) > 5 else "")


def parse_dtmf(line: str) -> str | None:
    """The key a far end pressed: Quectel `+QTONEDET: <ASCII code>` (49 = "1") after AT+QTONEDET=1, SIMCom
    `+RXDTMF: <key>` after AT+DDET=1 (older firmware: `+DTMF: <key>`); None if the line is not one."""
    text = line.strip()
    if text.startswith("+QTONEDET:"):
        raw = text.split(":", 1)[1].strip()
        if not raw.isdigit() or not 32 < int(raw) < 127:
            raise ValueError(f"malformed +QTONEDET: {line!r}")
        key = chr(int(raw))
    elif text.startswith(("+RXDTMF:", "+DTMF:", "+QDTMF:")):
        key = text.split(":", 1)[1].strip().strip('"')[:1]
    else:
        return None
    if key not in "0123456789*#ABCD" or not key:
        raise ValueError(f"not a DTMF key: {line!r}")
    return key


def call_ended(line: str) -> str | None:
    """"no_carrier" | "busy" | "no_answer" when this line ends a voice call, else None."""
    return CALL_ENDED.get(line.strip())


# <IMS_conf> of `+QCFG: "ims",<IMS_conf>,<VoLTE_cap>` (Quectel's IMS application note)
IMS_CONF = {0: "auto", 1: "on", 2: "off"}


def parse_qcfg_ims(line: str) -> tuple[str, bool | None]:
    """`+QCFG: "ims",<IMS_conf>[,<VoLTE_cap>]` -> ("auto" (the carrier profile, MBN, decides) | "on" | "off",
    VoLTE ready: True/False, None when the firmware does not say)."""
    fields = _fields(line, "+QCFG:")
    if len(fields) < 2 or fields[0].lower() != "ims" or not fields[1].isdigit() or int(fields[1]) not in IMS_CONF:
        raise ValueError(f"not a +QCFG ims line: {line!r}")
    cap = fields[2] if len(fields) > 2 and fields[2].isdigit() else None
    return IMS_CONF[int(fields[1])], None if cap is None else cap == "1"


def parse_cireg(line: str) -> bool:
    """+CIREG: <n>,<reg_info>[,...] (TS 27.007 §8.71) -> registered with the IMS (VoLTE usable)."""
    fields = _fields(line, "+CIREG:")
    if len(fields) < 2 or not fields[1].isdigit():
        raise ValueError(f"malformed +CIREG: {line!r}")
    return fields[1] == "1"


def dial_command(number: str) -> str:
    """ATD<number>; — the semicolon makes it a voice call (without it the module starts a data call)."""
    digits = number.strip()
    if digits.lower().startswith("tel:"):
        digits = digits[4:]
    if not re.fullmatch(r"\+?[0-9*#]{3,24}", digits):
        raise ValueError(f"not a dialable number: {number!r}")
    return f"ATD{digits};"
