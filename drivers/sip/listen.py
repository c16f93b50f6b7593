"""Where baresip listens, and who may send it calls.

`[voice_call] listen` is "HOST:PORT": HOST is an IP address of this unit (IPv6 in brackets), a network
interface name (its IPv4 address), or "auto": the one local address the kernel routes to the SIP
server from (loopback when the hub does not register). Never the wildcard 0.0.0.0 / [::]: baresip
would then answer INVITEs on every interface, the Wi-Fi and any VPN included.

Incoming calls are taken only from the SIP server (the outbound proxy if one is set, else the
account's host) and the `accept_from` entries ("host" any port, "host:port" that port only).
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

from drivers.sip.setup import AgentSettings

SIOCGIFADDR = 0x8915
WILDCARDS = ("0.0.0.0", "::", "")


def split(text: str) -> tuple[str, str]:
    """'auto:5060' -> ('auto', '5060'); '[fd00::2]:5060' -> ('fd00::2', '5060')."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else ""
    host, _, port = text.rpartition(":")
    return (host, port) if host else (text, "")


def listen_problem(text: str) -> str | None:
    """Why a `listen` value is refused, or None."""
    host, port = split(text.strip())
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        return f"must be 'HOST:PORT' (e.g. 'auto:5060', '192.168.1.20:5060', 'eth0:5060'), got {text!r}"
    if host in WILDCARDS:
        return (f"{text!r} listens on every interface: give 'auto:{port}' (the address facing the SIP server), "
                f"an interface name or one address of this unit")
    if host != "auto" and not _is_ip(host) and not (host.isascii() and host.replace("-", "").replace(".", "")
                                                      .replace("_", "").isalnum() and len(host) < 16):
        return f"HOST must be 'auto', an IP address of this unit or an interface name, got {host!r}"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def server_of(uri: str) -> tuple[str, int | None]:
    """'sip:hub@pbx.example.org:5070;transport=tcp' -> ('pbx.example.org', 5070); no port -> None."""
    text = uri.strip().strip("<>")
    rest = text.partition(":")[2] if text.lower().startswith(("sip:", "sips:")) else text
    rest = rest.rpartition("@")[2].split(";")[0].split("?")[0]
    host, port = split(rest)
    return host.lower(), int(port) if port.isdigit() else None


def registrar(settings: AgentSettings) -> tuple[str, int]:
    """The host (and port) calls from the SIP server come from: the outbound proxy, else the account's host."""
    uri = settings.outbound or settings.account
    host, port = server_of(uri)
    tls = uri.lower().startswith("sips:") or "transport=tls" in uri.lower()
    return host, port or (5061 if tls else 5060)


def resolve_listen(settings: AgentSettings) -> str:
    """The address:port for baresip's `sip_listen`. Blocking (DNS); OSError if it cannot be found."""
    host, port = split(settings.listen.strip())
    if host == "auto":
        if not settings.register and not settings.outbound:
            address = "127.0.0.1"
        else:
            server, server_port = registrar(settings)
            family, _, _, _, peer = socket.getaddrinfo(server, server_port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect(peer)  # no packet is sent: the kernel picks the route and its source address
                address = str(probe.getsockname()[0])
    elif _is_ip(host):
        address = host
    else:
        address = interface_address(host)
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def interface_address(name: str) -> str:
    """The IPv4 address of a network interface (OSError if it has none or does not exist)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
    return socket.inet_ntoa(packed[20:24])
