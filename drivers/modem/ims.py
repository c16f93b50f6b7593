"""What the module is (its AT dialect) and whether it can carry voice over LTE (VoLTE, the IMS).

Many carriers have switched their 2G/3G voice off (in China, Unicom and Telecom): on those a call by
ATD goes over VoLTE or not at all, and a Quectel module leaves IMS to its carrier profile (MBN) unless
told otherwise with AT+QCFG="ims",1 (then AT+CFUN=1,1). Quectel reports the setting and whether VoLTE
is up with AT+QCFG="ims"; other modules may answer the standard AT+CIREG? (TS 27.007 §8.71).
"""

from __future__ import annotations

from drivers.modem.at import parse_cireg, parse_qcfg_ims
from drivers.modem.client import AtError, AtModem


async def vendor_of(modem: AtModem) -> str:
    """"quectel" | "simcom" | "other", from AT+CGMI: which DTMF and IMS commands it speaks."""
    try:
        lines = await modem.command("AT+CGMI", timeout=3.0)
    except AtError:
        return "other"
    name = " ".join(lines).lower()
    return "quectel" if "quectel" in name else "simcom" if "simcom" in name else "other"


async def read_ims(modem: AtModem, vendor: str) -> tuple[str, bool | None]:
    """(IMS setting "on" | "off" | "auto" | "unknown", VoLTE usable True/False/None unknown). Quectel says
    both with AT+QCFG="ims"; elsewhere only the standard AT+CIREG? (IMS registration) may answer."""
    try:
        if vendor == "quectel":
            line = next(x for x in await modem.command('AT+QCFG="ims"', timeout=3.0) if x.startswith("+QCFG:"))
            return parse_qcfg_ims(line)
        line = next(x for x in await modem.command("AT+CIREG?", timeout=3.0) if x.startswith("+CIREG:"))
        return "unknown", parse_cireg(line)
    except (AtError, StopIteration, ValueError):
        return "unknown", None
