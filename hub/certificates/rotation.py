"""Certificate rotation on platform command: a new key made here, its CSR out, the certificate in,
checked, tried, and kept only once the broker has accepted it (docs/fleet.md, "Certificates and rotation").

    cmd/rotate_cert  {"request_id"}            -> key + CSR made here -> event cert.csr {request_id, csr_pem, subject}
    cmd/install_cert {"request_id", "cert_pem", "chain_pem"?}
        -> checked (for this key and subject, valid now, chains to [mqtt.tls] ca)   else cert.rotation_failed
        -> reconnect presenting it; the old pair stays on disk and in state.json
        -> connected within [certificates] rotation_timeout_s: it becomes the pair in use, cert.rotated
        -> not connected: back to the old pair, cert.rotation_failed (reason connect_failed)

Each step is persisted (hub.certificates.pair, fsync'd) before the next: a restart while waiting for the
certificate keeps the key and the request; a restart during the trial runs the trial again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from hub.certificates.pair import TlsState
from hub.certificates.x509 import CertError, CertInfo, check_issued, new_key_and_csr, read_info
from hub.config.loader import Config
from hub.core.context import HubContext
from hub.core.files import atomic_write

log = logging.getLogger(__name__)

REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # it names a directory
MAX_PEM = 32768


class CertRotation:
    def __init__(self, config: Config, ctx: HubContext, on_change: Callable[[], Awaitable[None]]) -> None:
        self.config = config
        self.ctx = ctx
        self.on_change = on_change  # the pair in use changed: check its expiry again
        self.timeout = float(config["certificates"]["rotation_timeout_s"])
        self.state = TlsState(config)
        self._lock = asyncio.Lock()  # one command at a time, in order

    async def start(self) -> None:
        await asyncio.to_thread(self._tidy)
        pending = self.state.pending
        if pending and pending.get("stage") == "trial":
            log.warning("the hub restarted while trying certificate %s: trying it again", pending["request_id"])
            self.ctx.spawn("certs.resume", self._locked(self._trial, pending["request_id"]))

    def _tidy(self) -> None:
        """Remove the directories of pairs neither in use nor pending (a power cut after a switch)."""
        if not self.state.dir.is_dir():
            return
        keep = {self.state.active, (self.state.pending or {}).get("request_id")}
        for entry in self.state.dir.iterdir():
            if entry.is_dir() and entry.name not in keep:
                self.state.remove(entry.name)

    async def _locked(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        async with self._lock:
            await fn(*args)

    # --- cmd/rotate_cert ----------------------------------------------------------------------------
    async def rotate(self, body: dict[str, Any]) -> None:
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
            log.warning("ignored cmd/rotate_cert: request_id must be 1-64 letters, digits, '.', '_' or '-'")
            return
        async with self._lock:
            await self._rotate(request_id)

    async def _rotate(self, request_id: str) -> None:
        pending = self.state.pending
        if pending and pending["request_id"] == request_id and pending["stage"] == "csr":
            log.info("cmd/rotate_cert %s again: sending the same CSR", request_id)
            await self._send_csr(pending)
            return
        if not self.config["mqtt"].get("tls") or self.state.provisioned() is None:
            await self._failed(request_id, "request", "no_client_certificate",
                               "this hub connects without a TLS client certificate ([mqtt.tls] cert/key)")
            return
        current = await asyncio.to_thread(self.state.current)
        key_type = self.config["certificates"]["key_type"]
        key_pem, csr_pem, subject = await asyncio.to_thread(
            new_key_and_csr, current[0] if current else None, self.config.hub_id, key_type)
        await asyncio.to_thread(self._write_key, request_id, key_pem)
        if pending:
            log.warning("certificate request %s replaced by %s", pending["request_id"], request_id)
            await asyncio.to_thread(self.state.remove, pending["request_id"])
        self.state.pending = {"request_id": request_id, "stage": "csr", "subject": subject, "csr_pem": csr_pem,
                              "key_type": key_type, "requested": datetime.now(UTC).isoformat(timespec="seconds")}
        await asyncio.to_thread(self.state.save)
        log.info("certificate request %s: new key made, CSR for %s sent", request_id, subject)
        await self._send_csr(self.state.pending)

    def _write_key(self, request_id: str, key_pem: bytes) -> None:
        atomic_write(self.state.make_dir(request_id) / "key.pem", key_pem, 0o600)

    async def _send_csr(self, pending: dict[str, Any]) -> None:
        await self.ctx.raise_event("cert.csr", {"request_id": pending["request_id"], "csr_pem": pending["csr_pem"],
                                                "subject": pending["subject"],
                                                "key_type": pending.get("key_type", "ec-p256")})

    # --- cmd/install_cert ---------------------------------------------------------------------------
    async def install(self, body: dict[str, Any]) -> None:
        request_id, cert_pem, chain_pem = body.get("request_id"), body.get("cert_pem"), body.get("chain_pem", "")
        if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
            log.warning("ignored cmd/install_cert: no valid request_id")
            return
        async with self._lock:
            if not isinstance(cert_pem, str) or not isinstance(chain_pem, str) or \
                    len(cert_pem) + len(chain_pem) > MAX_PEM:
                await self._failed(request_id, "check", "bad_certificate",
                                   f"cert_pem (and chain_pem) must be PEM text under {MAX_PEM} bytes")
                return
            await self._install(request_id, cert_pem, chain_pem)

    async def _install(self, request_id: str, cert_pem: str, chain_pem: str) -> None:
        pending = self.state.pending
        if self.state.active == request_id:
            log.info("cmd/install_cert %s again: that certificate is already in use", request_id)
            return
        if not pending or pending["request_id"] != request_id or pending["stage"] != "csr":
            await self._failed(request_id, "check", "unknown_request",
                               f"no certificate request {request_id} is waiting (waiting: "
                               f"{pending['request_id'] if pending else 'none'}); send cmd/rotate_cert first")
            return
        folder = self.state.pair_dir(request_id)
        try:
            key_pem = await asyncio.to_thread((folder / "key.pem").read_bytes)
            await asyncio.to_thread(check_issued, cert_pem, chain_pem, key_pem,
                                    self.config["mqtt"]["tls"].get("ca"), pending["subject"])
        except CertError as exc:
            await self._failed(request_id, "check", exc.reason, exc.detail)
            return  # the request stays open: the platform may send a corrected certificate
        except OSError as exc:
            await self._failed(request_id, "check", "key_lost", f"the key for this request is gone ({exc}); "
                                                                "send cmd/rotate_cert again")
            return
        pem = cert_pem.strip() + "\n" + (chain_pem.strip() + "\n" if chain_pem.strip() else "")
        await asyncio.to_thread(atomic_write, folder / "cert.pem", pem.encode(), 0o644)
        pending["stage"] = "trial"
        await asyncio.to_thread(self.state.save)
        await self._trial(request_id)

    async def _trial(self, request_id: str) -> None:
        new = self.state.pair(request_id)
        old = await asyncio.to_thread(self.state.current)
        assert new is not None
        try:
            info = await asyncio.to_thread(read_info, new[0])
            why = await self.ctx.use_client_cert(new, self.timeout)
        except (OSError, CertError) as exc:  # ssl.SSLError is an OSError
            why = f"the new certificate and key cannot be used: {exc}"
        if not why:
            await self._rotated(request_id, info)
            return
        log.error("certificate %s did not connect (%s): going back to the previous one", request_id, why)
        if old is not None:
            back = await self.ctx.use_client_cert(old, self.timeout)
            if back:
                log.error("the previous certificate does not connect either: %s", back)
        self.state.pending = None
        await asyncio.to_thread(self.state.save)
        await asyncio.to_thread(self.state.remove, request_id)
        await self._failed(request_id, "connect", "connect_failed", why)

    async def _rotated(self, request_id: str, info: CertInfo) -> None:
        old = await asyncio.to_thread(self.state.current)
        previous_serial = await asyncio.to_thread(_serial, old[0] if old else None)
        await self.ctx.raise_event("cert.rotated", {"request_id": request_id, **info.as_dict(),
                                                    "previous_serial": previous_serial})
        replaced = self.state.promote(request_id)
        await asyncio.to_thread(self.state.save)
        await asyncio.to_thread(self.state.remove, replaced)
        log.info("certificate %s (serial %s, until %s) in use; the previous one removed", request_id, info.serial,
                 info.not_after.date())
        await self.on_change()

    async def _failed(self, request_id: str, stage: str, reason: str, detail: str) -> None:
        current = await asyncio.to_thread(self.state.current)
        log.error("certificate request %s refused at %s: %s (%s)", request_id, stage, reason, detail)
        await self.ctx.raise_event("cert.rotation_failed", {
            "request_id": request_id, "stage": stage, "reason": reason, "detail": detail[:500],
            "kept_serial": await asyncio.to_thread(_serial, current[0] if current else None)})


def _serial(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return read_info(path).serial
    except (OSError, CertError):
        return None
