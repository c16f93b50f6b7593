"""An interactive command on a pseudo-terminal, driven like an installer's SSH session: wait for a
prompt (a regex, with a deadline), type an answer, read the whole screen."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import termios
import time

from tests.hubproc import ROOT, env


class Terminal:
    def __init__(self, argv: list[str], columns: int = 120, rows: int = 40) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child: the wizard on the pty (its controlling terminal, so getpass works)
            os.chdir(ROOT)
            # A window of a known size, as a real terminal has (a fresh pty has none, and COLUMNS from
            # whatever ran the tests would then decide the layout of a program that fits its output to it).
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            clean = {k: v for k, v in env().items() if k not in ("COLUMNS", "LINES")}
            os.execvpe(argv[0], argv, clean)
        self.buffer = ""
        self.pos = 0

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        regex = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            match = regex.search(self.buffer, self.pos)
            if match:
                self.pos = match.end()
                return match.group(0)
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out waiting for {pattern!r}; screen tail:\n{self.buffer[-1500:]}"
                )
            ready, _, _ = select.select([self.fd], [], [], min(remaining, 0.5))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child exited and the pty closed
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"wizard exited waiting for {pattern!r}:\n{self.buffer[-1500:]}")
                self.buffer += chunk.decode("utf-8", "replace")

    def answer(self, prompt: str, text: str = "") -> None:
        self.expect(prompt)
        os.write(self.fd, text.encode() + b"\r")

    def wait(self, timeout: float = 60.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with_pid, status = os.waitpid(self.pid, os.WNOHANG)
            if with_pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                with contextlib.suppress(OSError):
                    self.buffer += os.read(self.fd, 65536).decode("utf-8", "replace")
        raise AssertionError("wizard did not exit")
