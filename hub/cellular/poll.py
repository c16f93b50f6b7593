"""What the modem task reads every `poll_s` for `hub status`: SIM, registration (LTE first, the
circuit-switched side for voice), signal and the IMS (VoLTE) setting. An answer that cannot be read (a
garbled line, a stray line where the answer should be) is logged with its bytes and that reading is
"unknown" this round: it never ends the modem task.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from drivers.modem.at import parse_cpin, parse_csq, parse_registration, registered
from drivers.modem.client import AtError, AtModem
from drivers.modem.ims import read_ims

log = logging.getLogger(__name__)


async def _read(modem: AtModem, command: str, prefix: str, parse: Callable[[str], Any]) -> Any:
    """`command`'s `prefix` line parsed; None (logged with the lines' bytes) when it cannot be read."""
    lines = await modem.command(command)
    try:
        return parse(next(line for line in lines if line.startswith(prefix)))
    except (StopIteration, ValueError, IndexError) as exc:
        log.warning("modem: %s answered %r, not understood (%r): reading skipped", command, lines, exc)
        return None


def _registration(line: str) -> str:
    return parse_registration(line, reply=True)


async def read_state(modem: AtModem, vendor: str) -> dict[str, Any]:
    """The status fields: sim, registration, cs_registration, signal_dbm, ims, volte."""
    try:
        sim = await _read(modem, "AT+CPIN?", "+CPIN:", parse_cpin)
    except AtError as exc:
        sim = "absent" if exc.final.code == 10 else f"error {exc.final.code}"
    reg = cs = await _read(modem, "AT+CREG?", "+CREG:", _registration)
    with contextlib.suppress(AtError):
        lte = await _read(modem, "AT+CEREG?", "+CEREG:", _registration)
        reg = lte if lte is not None and registered(lte) else reg
    dbm = await _read(modem, "AT+CSQ", "+CSQ:", parse_csq)
    ims, volte = await read_ims(modem, vendor)
    if sim != "READY":
        log.warning("4G 模块无 SIM 卡或 SIM 未就绪 (%s)：检查 SIM 卡 / no usable SIM: check the card", sim)
    elif not registered(str(reg)):
        log.warning("4G 未注册网络 (%s)：检查天线和信号 / not registered: check the antenna and coverage", reg)
    return {"sim": sim or "unknown", "registration": reg or "unknown", "cs_registration": cs or "unknown",
            "signal_dbm": dbm, "ims": ims, "volte": volte}
