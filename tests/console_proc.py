"""`hub console` as its own process for the tests: every line it prints collected by a reader thread."""

from __future__ import annotations

import subprocess
import sys
import threading

from support import wait_until


def console_process(hub_env, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hub", "console", "--config", str(hub_env.hub.config), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class Console:
    """`hub console` as its own process; every line it prints is collected by a reader thread."""

    def __init__(self, hub_env, *args: str) -> None:
        self.proc = console_process(hub_env, *args)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def wait_line(self, predicate, timeout: float = 10, after: int = 0) -> tuple[int, str]:
        def found() -> tuple[int, str] | None:
            with self._lock:
                return next(((i, line) for i, line in enumerate(self.lines[after:], after) if predicate(line)), None)
        return wait_until(found, timeout, lambda: "a line; the console printed:\n" + "\n".join(self.lines))

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def close(self) -> int:
        self.send("q")
        code = self.proc.wait(10)
        self._reader.join(5)
        return code

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self._reader.join(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
