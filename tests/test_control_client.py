"""The control socket's client (`hub status`, `hub sim`, tests) when the hub goes away mid-request, as it does
while restarting after a remote config or an update: a readable ControlError, never a bare socket error."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from hub.core.control import ControlError, request


def _serve_once(path: Path, behaviour: str) -> threading.Thread:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def run() -> None:
        conn, _ = server.accept()
        if behaviour == "reset":
            time.sleep(0.2)  # the request sits unread in the socket: closing now resets the client
        else:
            conn.recv(65536)
        conn.close()
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("behaviour", ["reset", "close"])
def test_a_hub_that_goes_away_mid_request_is_a_control_error(tmp_path: Path, behaviour: str) -> None:
    path = tmp_path / "control.sock"
    thread = _serve_once(path, behaviour)
    with pytest.raises(ControlError, match="closed the connection without answering"):
        request(path, {"cmd": "status"}, timeout=5)
    thread.join(5)


def test_no_hub_at_all_is_a_control_error(tmp_path: Path) -> None:
    with pytest.raises(ControlError, match="no running hub"):
        request(tmp_path / "control.sock", {"cmd": "status"}, timeout=5)
