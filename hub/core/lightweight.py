"""Import a library without the optional heavy extras it would pull in if they happen to be installed,
and run a hub without TLS without loading OpenSSL at all."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from types import ModuleType


def import_without_optional(name: str, blocked: Iterable[str]) -> ModuleType:
    """Import `name` while `blocked` modules look absent (a None entry in sys.modules makes
    `import x` raise ImportError, which libraries with optional extras catch). Modules already
    imported are left alone, and the block is lifted afterwards so later code may import them."""
    if name in sys.modules:
        return sys.modules[name]
    added = [b for b in blocked if b not in sys.modules]
    for b in added:
        sys.modules[b] = None  # type: ignore[assignment]
    try:
        return importlib.import_module(name)
    finally:
        for b in added:
            if sys.modules.get(b) is None:
                del sys.modules[b]


# OpenSSL: libcrypto + libssl and their modules, ~4.6 MB resident (43.7 -> 39.1 MB, `hub run --simulate`;
# bench/footprint.py). Python loads them whenever asyncio, paho or hashlib is imported, TLS or not.
OPENSSL = ("ssl", "_ssl", "_hashlib")


class _PahoWithoutTLS:
    """paho's `ssl` while TLS is off. Its socket send/recv name ssl.SSLWantReadError/SSLWantWriteError
    in `except` clauses, which Python evaluates on any socket error (a full send buffer during a drain):
    with `ssl = None` that would be an AttributeError. Without a TLS socket nothing raises these."""

    class SSLWantReadError(OSError):
        pass

    class SSLWantWriteError(OSError):
        pass

    class CertificateError(ValueError):
        pass


def without_openssl() -> None:
    """For the life of this process, until `openssl()`: OpenSSL is not loaded. Call first thing, before
    asyncio, paho or hashlib is imported; they then take their documented no-ssl paths (hashlib and hmac
    use CPython's own hashes; asyncio and paho offer no TLS). Only for a hub whose [mqtt] has no tls."""
    for name in OPENSSL:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    import paho.mqtt.client as paho

    if paho.ssl is None:
        paho.ssl = _PahoWithoutTLS


def openssl() -> ModuleType:
    """The ssl module, for the rare part that needs TLS in a hub started `without_openssl()` (an HTTPS
    update download): lift the block, load it, and re-run http.client and urllib.request, which were
    imported (by paho) without it and so offer no HTTPS. Call before importing code that subclasses
    their classes (hub.update.download)."""
    for name in OPENSSL:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]
    ssl = importlib.import_module("ssl")
    for name, https in (("http.client", "HTTPSConnection"), ("urllib.request", "HTTPSHandler")):
        module = sys.modules.get(name)
        if module is not None and not hasattr(module, https):
            importlib.reload(module)
    paho = sys.modules.get("paho.mqtt.client")
    if paho is not None and getattr(paho, "ssl", None) is _PahoWithoutTLS:
        paho.ssl = ssl  # type: ignore[attr-defined]
    return ssl
