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


def test_a_deferred_module_loads_on_first_use_and_https_still_works() -> None:
    """hub.cli.run defers paho's urllib.request (and with it http.client): imported by nobody until
    used, then the real module, for the stand-in's holders and for later importers alike."""
    out = _run(textwrap.dedent("""
        import sys
        from hub.core import lightweight
        lightweight.defer("urllib.request")
        lightweight.without_openssl()
        import paho.mqtt.client as paho
        from hub.core.app import Hub
        client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        print("after import", "http.client" in sys.modules)
        held = paho.urllib.request
        print("proxies", isinstance(held.getproxies(), dict), "http.client" in sys.modules)
        import urllib.request
        print("same", urllib.request.getproxies is held.getproxies, sys.modules["urllib.request"] is urllib.request)
        lightweight.openssl()
        import hub.update.download  # subclasses urllib.request's redirect handler: needs the real one
        print("https", hasattr(urllib.request, "HTTPSHandler"))
    """))
    assert "after import False" in out
    assert "proxies True True" in out
    assert "same True True" in out
    assert "https True" in out


def test_openssl_leaves_a_deferred_module_deferred() -> None:
    """A hub with TLS builds its context through openssl(): that must not load paho's deferred
    urllib.request (http.client, email ...) on the way."""
    out = _run(textwrap.dedent("""
        import sys
        from hub.core import lightweight
        lightweight.defer("urllib.request")
        import paho.mqtt.client
        from hub.core.uplink.replies import tls_context
        tls_context({"ca": None, "insecure": False}, None)
        print("deferred", "http.client" in sys.modules, type(sys.modules["urllib.request"]).__name__)
        import urllib.request
        print("https later", hasattr(urllib.request, "HTTPSHandler"))
    """))
    assert "deferred False _Deferred" in out
    assert "https later True" in out


def test_hub_run_reads_its_config_once_and_decides_openssl_from_it(tmp_path, monkeypatch) -> None:
    """`hub run` reads the file once: [mqtt] tls is looked at in the TOML as written (before the
    validation imports the schemas), and the same TOML is validated."""
    import argparse
    from pathlib import Path

    from hub.cli import run
    from hub.core import lightweight

    blocked: list[bool] = []
    monkeypatch.setattr(lightweight, "without_openssl", lambda: blocked.append(True))
    reads: list[Path] = []
    real_read_text = Path.read_text

    def counted(self: Path, *args: object, **kwargs: object) -> str:
        reads.append(self)
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", counted)
    cfg = tmp_path / "hub.toml"
    for mqtt, expect_blocked in (('host = "127.0.0.1"', [True]), ('host = "b.example"\ntls = { ca = "/x" }', [])):
        cfg.write_text(f'[hub]\nid = "h-1"\nstate_dir = "{tmp_path}"\n[mqtt]\n{mqtt}\n')
        blocked.clear()
        reads.clear()
        config = run._load_once(argparse.Namespace(config=str(cfg)))
        assert config is not None and config["hub"]["id"] == "h-1"
        assert [p for p in reads if p == cfg] == [cfg] and blocked == expect_blocked
