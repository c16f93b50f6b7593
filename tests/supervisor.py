"""The hub run the way systemd runs it: started again whenever it exits, unless with status 2
(Restart=always, RestartPreventExitStatus=2 in systemd/eldercare-hub.service)."""

from __future__ import annotations

import os
import subprocess
import threading
from typing import Any

from support import HubProcess


class Supervisor:
    """Starts the hub again whenever it exits, as systemd does; remembers each exit status."""

    def __init__(self, hub: HubProcess) -> None:
        self.hub = hub
        self.exits: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> Supervisor:
        self.hub.start()
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            assert self.hub.proc is not None
            try:
                code = self.hub.proc.wait(0.1)
            except subprocess.TimeoutExpired:
                continue
            if self._stop.is_set():
                return
            self.exits.append(code)
            if code == 2:
                return
            self.hub.start(wait=False)

    def signal(self, sig: int) -> None:
        """Signal the running hub (a local reference: the watcher may replace hub.proc at any moment)."""
        proc = self.hub.proc
        assert proc is not None
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            if proc.poll() is None:
                raise  # (it exited: between two starts, as after a restart, there is nothing to signal)

    def status(self) -> dict[str, Any]:
        """The running hub's status, once its control socket answers: after a restart the uplink (and so
        config/reported) comes up before the control socket, which starts after the components."""
        self.hub.wait_ready()
        return self.hub.status()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(20)
        self.hub.stop()

    def abandon(self) -> None:
        """Stop watching without stopping the hub (a power cut is next: kill it with signal())."""
        self._stop.set()
        self._thread.join(20)
