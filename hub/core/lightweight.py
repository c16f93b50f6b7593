"""Import a library without the optional heavy extras it would pull in if they happen to be installed,
run a hub without TLS without loading OpenSSL at all, and defer a module a library imports but seldom
uses."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Any


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
        # A deferred one is not loaded yet: it will find ssl when it is (and is left unloaded now).
        if module is not None and not isinstance(module, _Deferred) and not hasattr(module, https):
            importlib.reload(module)
    paho = sys.modules.get("paho.mqtt.client")
    if paho is not None and getattr(paho, "ssl", None) is _PahoWithoutTLS:
        paho.ssl = ssl  # type: ignore[attr-defined]
    return ssl


class _Deferred(ModuleType):
    """Stands in sys.modules for a module until one of its attributes is used, then imports it (and
    takes its namespace, for whoever kept the stand-in). Unlike importlib.util.LazyLoader it survives
    `import name` itself, which reads the module's __spec__."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)  # also rebinds the parent package's attribute
        self.__dict__.update(real.__dict__)
        return getattr(real, attr)


def defer(name: str) -> None:
    """`import name` costs nothing until something uses it. For paho's `import urllib.request` (with
    http.client, email and calendar: ~0.8 MB resident and a tenth of start-up's imports), which it uses
    only for a SOCKS proxy from the environment, and only when PySocks is installed."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    module = _Deferred(name)
    module.__spec__, module.__file__, module.__loader__ = spec, spec.origin, spec.loader
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
