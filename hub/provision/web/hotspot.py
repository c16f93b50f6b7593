"""The unit's own Wi-Fi in set-up mode, through NetworkManager's `nmcli` (Raspberry Pi OS Bookworm).

Every command is one argument list, never a shell line: an SSID or password from the page is a single
argument whatever characters it holds. Tests put a fake `nmcli` on PATH that records its arguments.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass

CONNECTION = "eldercare-setup"  # the hotspot's NetworkManager connection name
TIMEOUT_S = 45.0


class NmcliError(RuntimeError):
    pass


@dataclass(frozen=True)
class Network:
    ssid: str
    signal: int
    secured: bool


async def nmcli(*args: str, timeout: float = TIMEOUT_S) -> str:
    binary = shutil.which("nmcli")
    if binary is None:
        raise NmcliError("nmcli not found: install network-manager (Raspberry Pi OS Bookworm has it)")
    proc = await asyncio.create_subprocess_exec(binary, *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise NmcliError(f"nmcli {args[0] if args else ''} took longer than {timeout:g} s") from None
    if proc.returncode != 0:
        raise NmcliError(err.decode(errors="replace").strip() or f"nmcli exited {proc.returncode}")
    return out.decode(errors="replace")


async def start(ifname: str, ssid: str, password: str) -> None:
    await nmcli("device", "wifi", "hotspot", "ifname", ifname, "con-name", CONNECTION, "ssid", ssid,
                "password", password)


async def stop() -> None:
    await nmcli("connection", "down", CONNECTION)


async def scan(ifname: str) -> list[Network]:
    out = await nmcli("--terse", "--fields", "SSID,SIGNAL,SECURITY", "device", "wifi", "list", "ifname", ifname,
                      "--rescan", "yes")
    best: dict[str, Network] = {}
    for line in out.splitlines():
        parts = _split_terse(line)
        if len(parts) != 3 or not parts[0]:
            continue
        try:
            signal = int(parts[1])
        except ValueError:
            continue
        network = Network(parts[0], signal, parts[2] not in ("", "--"))
        if network.ssid not in best or best[network.ssid].signal < signal:
            best[network.ssid] = network
    return sorted(best.values(), key=lambda n: -n.signal)


async def connect(ifname: str, ssid: str, password: str) -> None:
    """Join the home's Wi-Fi. NetworkManager keeps it for the next boots; the hotspot goes down with it."""
    args = ["device", "wifi", "connect", ssid, "ifname", ifname]
    if password:
        args += ["password", password]
    await nmcli(*args, timeout=60.0)


def _split_terse(line: str) -> list[str]:
    """nmcli --terse separates fields with ':' and escapes ':' and '\\' inside them with '\\'."""
    parts, current, escaped = [], [], False
    for ch in line:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts
