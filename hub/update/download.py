"""Fetch a release over HTTPS, resuming a partial download with HTTP Range. Blocking: the component
runs it with asyncio.to_thread. The certificate is checked against the configured CA (else the system
store); plain http is refused."""

from __future__ import annotations

import hashlib
import http.client
import os
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

CHUNK = 64 * 1024
MAX_BYTES = 200 * 1024 * 1024  # a wheel of this project is well under 1 MB; refuse anything absurd
Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


class DownloadError(RuntimeError):
    pass


class Cancelled(Exception):
    """The hub is stopping: the download ends now (the partial file is kept for the next try)."""


def tls_context(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca or None)


def fetch(url: str, dest: Path, ca: str = "", progress: Progress | None = None, attempts: int = 5,
          timeout: float = 30.0, backoff: float = 2.0, cancel: threading.Event | None = None) -> Path:
    """Download `url` to `dest` (via `dest.part`, kept across failures and restarts so the next try
    resumes). Retries a broken connection `attempts` times, resuming where it stopped. Setting `cancel`
    ends it (Cancelled) at the next chunk or retry."""
    cancel = cancel or threading.Event()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if urlsplit(url).scheme != "https":
        raise DownloadError(f"refusing {url!r}: updates are fetched over https only")
    context = tls_context(ca)
    part = dest.with_name(dest.name + ".part")
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            _once(url, part, context, progress, timeout, cancel)
            part.replace(dest)
            return dest
        except urllib.error.HTTPError as exc:
            if exc.code != 416:
                raise DownloadError(f"HTTP {exc.code} {exc.reason} from {url}") from exc
            part.unlink(missing_ok=True)  # our partial file is longer than the artifact: start again
            last = exc
            continue
        except (urllib.error.URLError, http.client.HTTPException, OSError, DownloadError) as exc:
            untrusted = _untrusted(exc)
            if untrusted:  # never retried: it will not get better
                raise DownloadError(f"the server's certificate is not trusted: {untrusted}") from exc
            last = exc
        if attempt + 1 < attempts and cancel.wait(backoff * (attempt + 1)):
            raise Cancelled("the hub is stopping")
    raise DownloadError(f"download failed after {attempts} tries: {last}")


def _untrusted(exc: BaseException) -> str:
    bad = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return str(bad.verify_message) if isinstance(bad, ssl.SSLCertVerificationError) else ""


def _once(url: str, part: Path, context: ssl.SSLContext, progress: Progress | None, timeout: float,
          cancel: threading.Event) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
        if have and response.status != 206:
            have = 0  # the server ignored Range: it sends everything, so start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        if total is not None and total > MAX_BYTES:
            raise DownloadError(f"the artifact is {total} bytes, more than {MAX_BYTES}")
        with open(part, "ab" if have else "wb") as out:
            got = have
            while chunk := response.read(CHUNK):
                if cancel.is_set():
                    raise Cancelled("the hub is stopping")
                out.write(chunk)
                got += len(chunk)
                if got > MAX_BYTES:
                    raise DownloadError(f"the artifact is more than {MAX_BYTES} bytes")
                if progress:
                    progress(got, total)
            out.flush()
            os.fsync(out.fileno())
        if total is not None and got < total:
            raise DownloadError(f"connection closed at {got} of {total} bytes")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
