"""Shared by the set-up page tests: a running simulated hub with set-up mode on loopback, an HTTP client
that keeps the session cookie like a browser, and a fake `nmcli` that records its arguments."""

from __future__ import annotations

import http.cookiejar
import json
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from support import free_port

FAKE_NMCLI = """#!/bin/sh
# A stand-in for NetworkManager's nmcli: records each call, answers a scan like a real one.
printf '%s\\n' "$*" >> "$NMCLI_LOG"
case "$*" in
  *"wifi list"*) printf 'HomeNet:82:WPA2\\nCafe\\\\:Guest:40:\\nHomeNet:60:WPA2\\n' ;;
  *"wifi connect BadNet"*) echo "Error: Secrets were required, but not provided." >&2; exit 4 ;;
esac
exit 0
"""


def setup_extra(port: int, hotspot: bool = False, **keys: Any) -> str:
    lines = [f'hotspot = {str(hotspot).lower()}', 'address = "127.0.0.1"', f"port = {port}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    return "[setup_mode]\n" + "\n".join(lines) + "\n"


def fake_nmcli(folder: Path) -> dict[str, str]:
    """A PATH with the fake nmcli first, and where it logs: env for the hub subprocess."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "nmcli"
    script.write_text(FAKE_NMCLI)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{folder}:{os.environ['PATH']}", "NMCLI_LOG": str(folder / "nmcli.log")}


class Page:
    """The set-up page's API as the page's own script calls it (cookie jar, CSRF header, same origin)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def call(self, path: str, body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None, timeout: float = 60) -> tuple[int, Any]:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method="GET" if data is None else "POST")
        request.add_header("Content-Type", "application/json")
        if data is not None and self.csrf:
            request.add_header("X-CSRF-Token", self.csrf)
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, _body(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _body(exc.read())

    def login(self, code: str) -> int:
        status, body = self.call("/api/login", {"code": code})
        if status == 200:
            self.csrf = body["csrf"]
        return status


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def label_of(hub_config: Path) -> dict[str, str]:
    import tomllib

    return tomllib.loads((hub_config.parent / "label.toml").read_text())


def new_port() -> int:
    return free_port()
