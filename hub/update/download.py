"""Fetch a release over HTTPS, resuming a partial download with HTTP Range. Blocking: the component
runs it with asyncio.to_thread. The certificate is checked against the configured CA (else the system
store); plain http is refused, and so is a redirect to anything but https. The download is bounded by
the release's signed size: the partial file never grows past it, and a server that offers or sends
more is refused (the partial file is removed)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from hub.core.lightweight import openssl

# First: a hub without [mqtt] tls runs without OpenSSL (hub.cli.run), and the http.client and
# urllib.request that paho imported then offer no HTTPS until openssl() loads it and re-runs them.
openssl()

import http.client  # noqa: E402
import ssl  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

CHUNK = 64 * 1024
Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


class DownloadError(RuntimeError):
    pass


class Refused(DownloadError):
    """Not retried: the server is wrong (more bytes than signed, a redirect off https), not the link."""


class Cancelled(Exception):
    """The hub is stopping: the download ends now (the partial file is kept for the next try)."""


def tls_context(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca or None)


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is followed only to another https URL (a CDN); https → http would give the bytes to
    anyone on the path, and a redirect to file:, ftp: … is not a release server."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: http.client.HTTPMessage, newurl: str) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme != "https":
            raise Refused(f"refusing the redirect from {req.full_url[:200]} to {newurl[:200]}: updates are "
                          "fetched over https only")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def part_of(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def fetch(url: str, dest: Path, ca: str = "", progress: Progress | None = None, *, size: int, attempts: int = 5,
          timeout: float = 30.0, backoff: float = 2.0, cancel: threading.Event | None = None) -> Path:
    """Download exactly `size` bytes of `url` to `dest` (via `dest.part`, kept across failures and
    restarts so the next try resumes). Retries a broken connection `attempts` times, resuming where it
    stopped. Setting `cancel` ends it (Cancelled) at the next chunk or retry."""
    cancel = cancel or threading.Event()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if urlsplit(url).scheme != "https":
        raise DownloadError(f"refusing {url[:200]!r}: updates are fetched over https only")
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=tls_context(ca)), _HttpsOnlyRedirects())
    part = part_of(dest)
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            _once(opener, url, part, size, progress, timeout, cancel)
            part.replace(dest)
            return dest
        except Refused:
            part.unlink(missing_ok=True)
            raise
        except urllib.error.HTTPError as exc:
            if exc.code != 416:
                raise DownloadError(f"HTTP {exc.code} {exc.reason} from {url[:200]}") from exc
            part.unlink(missing_ok=True)  # our partial file is longer than the artifact: start again
            last = exc
            continue
        except (urllib.error.URLError, http.client.HTTPException, OSError, DownloadError) as exc:
            if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, Refused):
                part.unlink(missing_ok=True)
                raise exc.reason from None
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


def _once(opener: urllib.request.OpenerDirector, url: str, part: Path, size: int, progress: Progress | None,
          timeout: float, cancel: threading.Event) -> None:
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()  # longer than the signed artifact: not ours
        have = 0
    if have == size:
        return  # complete before a restart: the digest decides
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with opener.open(request, timeout=timeout) as response:
        if urlsplit(response.geturl()).scheme != "https":  # belt and braces: the redirect handler refuses it
            raise Refused(f"the download ended up at {response.geturl()[:200]}, not https")
        if have and (response.status != 206 or not _starts_at(response, have)):
            have = 0  # the server ignored Range (or answered another one): it sends everything, start over
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and have + int(length) > size:
            raise Refused(f"the server offers {have + int(length)} bytes; the signed release is {size} bytes")
        with open(part, "ab" if have else "wb") as out:
            got = have
            while got < size and (chunk := response.read(min(CHUNK, size - got))):
                if cancel.is_set():
                    raise Cancelled("the hub is stopping")
                out.write(chunk)
                got += len(chunk)
                if progress:
                    progress(got, size)
            out.flush()
            os.fsync(out.fileno())
        if got < size:
            raise DownloadError(f"connection closed at {got} of {size} bytes")
        if response.read(1):  # one byte past the signed size, read and not written: an endless body
            raise Refused(f"the server sends more than the signed {size} bytes")


def _starts_at(response: Any, offset: int) -> bool:
    """A 206 answers our `Range: bytes=N-` when its Content-Range starts at N (absent: trust the 206)."""
    rng = response.headers.get("Content-Range")
    return rng is None or rng.strip().startswith(f"bytes {offset}-")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
