"""Which client certificate and key the hub presents to the broker, and the rotation state behind it.

The provisioned pair is `[mqtt.tls] cert` / `key` (beside the config, read-only to the service under
systemd's ProtectSystem=strict). A pair the hub made itself in a rotation (hub/certificates/rotation.py)
lives in the state directory, one directory per request, beside the old one:

    state_dir/tls/state.json        {"active": ID or null, "configured": sha256 of the provisioned cert,
                                     "pending": {"request_id", "stage": "csr" | "trial", "subject", ...}}
    state_dir/tls/ID/key.pem        0600, made on the device, never sent anywhere
    state_dir/tls/ID/cert.pem       the certificate the platform issued for it

state.json is written with atomic_write (fsync, rename, fsync dir): switching pairs is that one rename,
so a power cut leaves either the old pair or the new one in use, never half of each. The rotated pair
is used only while the provisioned certificate file is the one it replaced: an installer who provisions
the unit again (`hub provision`) wins.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from hub.config.loader import Config
from hub.core.files import atomic_write

log = logging.getLogger(__name__)

Pair = tuple[str, str]  # (certificate file, key file)


def _digest(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


class TlsState:
    def __init__(self, config: Config) -> None:
        self.tls: dict[str, Any] = config["mqtt"].get("tls") or {}
        self.dir = config.state_dir / "tls"
        self.path = self.dir / "state.json"
        self.active: str | None = None
        self.configured: str | None = None
        self.pending: dict[str, Any] | None = None
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.error("%s unreadable (%s): using the provisioned certificate [mqtt.tls] cert", self.path, exc)
            return
        self.active = data.get("active")
        self.configured = data.get("configured")
        self.pending = data.get("pending")
        if self.active and self.configured != _digest(self.tls.get("cert")):
            log.warning("the provisioned certificate %s changed since this hub rotated its own (re-provisioned): "
                        "using the provisioned pair", self.tls.get("cert"))
            self.active = None

    def pair_dir(self, request_id: str) -> Path:
        return self.dir / request_id

    def provisioned(self) -> Pair | None:
        cert, key = self.tls.get("cert"), self.tls.get("key")
        return (cert, key) if cert and key else None

    def pair(self, request_id: str | None) -> Pair | None:
        """The files of a rotated pair (None: the provisioned one)."""
        if request_id is None:
            return self.provisioned()
        folder = self.pair_dir(request_id)
        return str(folder / "cert.pem"), str(folder / "key.pem")

    def current(self) -> Pair | None:
        """The pair to present now: the rotated one while it is valid, else the provisioned one."""
        if self.active:
            cert, key = pair = self.pair(self.active) or ("", "")
            if Path(cert).is_file() and Path(key).is_file():
                return pair
            log.error("rotated certificate %s missing: using the provisioned one", cert)
        return self.provisioned()

    def save(self) -> None:
        """Blocking (fsync): call from a thread."""
        self.dir.mkdir(mode=0o700, exist_ok=True)
        body = {"active": self.active, "configured": self.configured, "pending": self.pending}
        atomic_write(self.path, json.dumps(body, indent=1).encode(), 0o600)

    def promote(self, request_id: str) -> str | None:
        """The pair of `request_id` is in use from now on; returns the rotated pair it replaced (if any),
        whose files the caller removes once this is saved."""
        previous, self.active = self.active, request_id
        self.configured = _digest(self.tls.get("cert"))
        self.pending = None
        return previous

    def make_dir(self, request_id: str) -> Path:
        """The directory for a new pair, its entry and its parent's fsynced (a power cut keeps them)."""
        folder = self.pair_dir(request_id)
        self.dir.mkdir(mode=0o700, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        for parent in (self.dir.parent, self.dir):
            fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return folder

    def remove(self, request_id: str | None) -> None:
        if request_id and request_id != self.active:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.pair_dir(request_id))


def client_pair(config: Config) -> Pair | None:
    """The certificate and key the uplink presents (None: no client certificate)."""
    return TlsState(config).current()
