"""Fetch a release over HTTPS, resuming a partial download with HTTP Range. Blocking: the component
runs it with asyncio.to_thread. The certificate is checked against the configured CA (else the system
store); plain http is refused."""

from __future__ import annotations

import hashlib
import http.client
import os
import ssl
import time
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


def tls_context(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca or None)


def fetch(url: str, dest: Path, ca: str = "", progress: Progress | None = None, attempts: int = 5,
          timeout: float = 30.0, backoff: float = 2.0) -> Path:
    """Download `url` to `dest` (via `dest.part`, kept across failures and restarts so the next try
    resumes). Retries a broken connection `attempts` times, resuming where it stopped."""
    if urlsplit(url).scheme != "https":
        raise DownloadError(f"refusing {url!r}: updates are fetched over https only")
    context = tls_context(ca)
    part = dest.with_name(dest.name + ".part")
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            _once(url, part, context, progress, timeout)
            part.replace(dest)
            return dest
        except ssl.SSLCertVerificationError as exc:
            raise DownloadError(f"the server's certificate is not trusted: {exc.verify_message}") from exc
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # our partial file is longer than the artifact: start again
                part.unlink(missing_ok=True)
                last = exc
                continue
            raise DownloadError(f"HTTP {exc.code} {exc.reason} from {url}") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError, DownloadError) as exc:
            last = exc
            if attempt + 1 < attempts:
                time.sleep(backoff * (attempt + 1))
    raise DownloadError(f"download failed after {attempts} tries: {last}")


def _once(url: str, part: Path, context: ssl.SSLContext, progress: Progress | None, timeout: float) -> None:
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
