"""Real parts for the update tests: wheels of this project built from the working tree (one per
version, with an optional change that makes a bad release), a release key, an HTTPS server with
Range support (and a switch to cut a transfer half-way), and a stand-in for systemd that runs the boot
guard and then `{root}/current/bin/hub run`, restarting it whenever it exits, as the unit does."""

from __future__ import annotations

import http.server
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_wheel(work: Path, version: str, patch: tuple[str, str, str] | None = None) -> Path:
    """`pip wheel` of a copy of this tree at `version`; `patch` = (file, old, new) makes a bad release."""
    src = work / f"src-{version}"
    src.mkdir(parents=True)
    for name in ("hub", "drivers", "sensors", "voice"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    init = src / "hub" / "__init__.py"
    text = init.read_text()
    assert '__version__ = "' in text
    init.write_text(text.replace(text.split('__version__ = "')[1].split('"')[0], version, 1))
    if patch:
        target = src / patch[0]
        body = target.read_text()
        assert patch[1] in body, f"{patch[0]} no longer contains {patch[1]!r}"
        target.write_text(body.replace(patch[1], patch[2], 1))
    out = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(out), str(src)], check=True, capture_output=True, timeout=300)
    return out / f"eldercare_hub-{version}-py3-none-any.whl"


def make_cert(d: Path) -> tuple[Path, Path]:
    cert, key = d / "server.pem", d / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


class ReleaseServer:
    """HTTPS on 127.0.0.1 serving files from `docroot` with `Range: bytes=N-`; `cut_after` bytes of the
    next full transfer are sent and then the connection is closed (a dropped mobile link).

    `/slow/NAME` serves NAME (with Range) at 4 kB per 50 ms.
    Misbehaving paths, as a hostile or broken server would answer: `/redirect/URL-ENCODED-TARGET` is a
    302 to that target; `/endless/NAME` sends NAME's bytes then zeros without end and without a
    Content-Length (`sent` counts what it wrote); `/liar/NAME` declares a Content-Length 1 GB long."""

    def __init__(self, docroot: Path, cert: Path | None, key: Path | None) -> None:
        self.docroot = docroot
        self.cut_after: int | None = None
        self.requests: list[tuple[str, str | None, int]] = []  # (path, Range header, status)
        self.sent = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/redirect/"):
                    server.requests.append((self.path, self.headers.get("Range"), 302))
                    self.send_response(302)
                    self.send_header("Location", urllib.parse.unquote(self.path[len("/redirect/"):]))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith(("/endless/", "/liar/")):
                    self._misbehave()
                    return
                slow = self.path.startswith("/slow/")
                path = server.docroot / self.path.removeprefix("/slow").lstrip("/")
                if not path.is_file():
                    server.requests.append((self.path, None, 404))
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[6:-1])
                status = 206 if start else 200
                server.requests.append((self.path, rng, status))
                self.send_response(status)
                self.send_header("Content-Length", str(len(data) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                body = data[start:]
                if server.cut_after is not None and not start:
                    body, server.cut_after = body[: server.cut_after], None
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if slow:  # a poor mobile link: 4 kB every 50 ms
                    try:
                        for i in range(0, len(body), 4096):
                            self.wfile.write(body[i:i + 4096])
                            self.wfile.flush()
                            time.sleep(0.05)
                    except OSError:
                        pass
                    return
                self.wfile.write(body)

            def _misbehave(self) -> None:
                kind, name = self.path.strip("/").split("/", 1)
                data = (server.docroot / name).read_bytes()
                server.requests.append((self.path, self.headers.get("Range"), 200))
                self.send_response(200)
                if kind == "liar":
                    self.send_header("Content-Length", str(1 << 30))
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                zeros = bytes(64 * 1024)
                try:
                    self.wfile.write(data)
                    server.sent += len(data)
                    while server.sent < (1 << 30):  # "endless": far more than any test reads
                        self.wfile.write(zeros)
                        server.sent += len(zeros)
                except OSError:
                    pass  # the client hung up: what it should do

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if cert is not None and key is not None:  # without: plain http (the target of a downgrade redirect)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Service:
    """The unit, for tests: ExecStartPre = the boot guard (from the base venv, i.e. this test venv),
    ExecStart = `{root}/current/bin/hub run --simulate`, Restart=always except exit 2."""

    def __init__(self, root: Path, config: Path) -> None:
        self.root, self.config = root, config
        self.log = config.parent / "service.log"
        self.starts: list[str] = []  # the venv each start ran from
        self.guard: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Service:
        self.thread.start()
        return self

    def _loop(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NOTIFY_SOCKET", "WATCHDOG_USEC")}
        with open(self.log, "ab") as log:
            while not self._stop.is_set():
                guard = subprocess.run([sys.executable, "-m", "hub.update.guard", str(self.root)],
                                       capture_output=True, text=True, env=env, timeout=60)
                self.guard.append(guard.stdout.strip() + guard.stderr.strip())
                self.starts.append(os.readlink(self.root / "current"))
                self.proc = subprocess.Popen([str(self.root / "current" / "bin" / "hub"), "run", "--simulate",
                                              "--config", str(self.config)], stdout=log, stderr=log, env=env,
                                             start_new_session=True)
                if self._stop.is_set():  # stop() came while the guard ran
                    self.proc.terminate()
                rc = self.proc.wait()
                if rc == 2 or self._stop.is_set():
                    return
                time.sleep(0.2)  # RestartSec

    def stop(self) -> None:
        self._stop.set()
        if not self.thread.is_alive() and self.proc is None:
            return
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.thread.join(30)

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:]) if self.log.exists() else ""
