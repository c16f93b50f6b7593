"""hub.core.lightweight: a hub without [mqtt] tls runs without OpenSSL, and still works where it counts.

Each case runs in a fresh interpreter: the block is about what a process has loaded (/proc/self/maps)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


LOADED = "def loaded(lib):\n    return lib in open('/proc/self/maps').read()\n"


def test_the_hub_imports_without_loading_openssl_and_paho_survives_a_socket_error() -> None:
    out = _run(LOADED + textwrap.dedent("""
        from hub.core import lightweight
        lightweight.without_openssl()
        import asyncio, hashlib, hmac, secrets
        import paho.mqtt.client as paho
        from hub.core.app import Hub
        print("libcrypto", loaded("libcrypto"), "libssl", loaded("libssl"))
        # CPython's own hashes stand in for OpenSSL's
        print("sha256", hashlib.sha256(b"abc").hexdigest()[:8], hmac.new(b"k", b"m", "sha256").hexdigest()[:8])
        # paho names ssl.SSLWant*Error in `except` clauses of its send/recv: a socket error must come
        # out as itself, not as an AttributeError on a missing ssl module
        import socket
        client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        a, b = socket.socketpair()
        a.setblocking(False)
        client._sock = a
        try:
            client._sock_recv(10)
        except BlockingIOError:
            print("recv BlockingIOError")
        print("tls refused", end=" ")
        try:
            client.tls_set()
        except ValueError:
            print("ValueError")
    """))
    assert "libcrypto False libssl False" in out
    assert "sha256 ba7816bf " in out  # sha256(b"abc"), the FIPS 180-2 test vector
    assert "recv BlockingIOError" in out
    assert "tls refused ValueError" in out


def test_openssl_lifts_the_block_and_https_works_again() -> None:
    """An HTTPS update download in a hub started without TLS (hub.update.download calls openssl())."""
    out = _run(LOADED + textwrap.dedent("""
        from hub.core import lightweight
        lightweight.without_openssl()
        import paho.mqtt.client as paho
        import http.client, urllib.request
        print("before", hasattr(urllib.request, "HTTPSHandler"), hasattr(http.client, "HTTPSConnection"))
        ssl = lightweight.openssl()
        print("after", hasattr(urllib.request, "HTTPSHandler"), hasattr(http.client, "HTTPSConnection"),
              paho.ssl is ssl, loaded("libssl"))
        import hub.update.download as download
        print("context", type(download.tls_context("")).__name__)
    """))
    assert "before False False" in out
    assert "after True True True True" in out
    assert "context SSLContext" in out


def test_a_hub_with_tls_imports_openssl_as_usual() -> None:
    """hub.cli.run blocks OpenSSL only when [mqtt] has no tls; without the block nothing changes."""
    out = _run(LOADED + textwrap.dedent("""
        import paho.mqtt.client as paho
        from hub.core.app import Hub
        print("ssl", paho.ssl.__name__, loaded("libssl"))
    """))
    assert "ssl ssl True" in out
