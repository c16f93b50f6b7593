"""Who may use the set-up page: whoever types the set-up code from the label, a few tries at a time.

- The code is compared in constant time; 5 wrong codes from one address in a minute lock that address out
  for a minute, doubling each time (at most 15 min); 20 wrong codes a minute from all addresses together
  lock everyone out for a minute (an attacker on the hotspot with many addresses).
- A right code opens a session: a random cookie (HttpOnly, SameSite=Strict) and a CSRF token the page
  sends back in a header on every POST; a POST without it, with another token, or from another origin is
  refused. Sessions end with set-up mode.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PER_ADDRESS = 5
ALL_ADDRESSES = 20
WINDOW_S = 60.0
MAX_LOCK_S = 900.0
MAX_SESSIONS = 8


@dataclass
class _Tries:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    lock_s: float = WINDOW_S


class Guard:
    def __init__(self, code: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._code = code.encode()
        self._clock = clock
        self._tries: dict[str, _Tries] = {}
        self._all: list[float] = []
        self._all_locked_until = 0.0
        self.sessions: dict[str, str] = {}  # session cookie -> CSRF token

    def wait_s(self, address: str) -> float:
        """Seconds before `address` may try a code again (0: now)."""
        now = self._clock()
        tries = self._tries.get(address)
        own = tries.locked_until - now if tries else 0.0
        return max(0.0, own, self._all_locked_until - now)

    def login(self, address: str, code: str) -> tuple[str, str] | None:
        """(session, csrf) for the right code, None for a wrong one. Check `wait_s` first."""
        now = self._clock()
        if hmac.compare_digest(code.strip().encode(), self._code):
            self._tries.pop(address, None)
            session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
            if len(self.sessions) >= MAX_SESSIONS:
                self.sessions.pop(next(iter(self.sessions)))
            self.sessions[session] = csrf
            return session, csrf
        tries = self._tries.setdefault(address, _Tries())
        tries.failures = [t for t in tries.failures if now - t < WINDOW_S] + [now]
        if len(tries.failures) >= PER_ADDRESS:
            tries.locked_until, tries.failures = now + tries.lock_s, []
            tries.lock_s = min(tries.lock_s * 2, MAX_LOCK_S)
        self._all = [t for t in self._all if now - t < WINDOW_S] + [now]
        if len(self._all) >= ALL_ADDRESSES:
            self._all_locked_until, self._all = now + WINDOW_S, []
        if len(self._tries) > 1024:  # addresses are cheap to an attacker; memory is not
            self._tries.pop(next(iter(self._tries)))
        return None

    def session_ok(self, session: str | None) -> bool:
        return bool(session) and session in self.sessions

    def csrf_ok(self, session: str | None, token: str | None) -> bool:
        expected = self.sessions.get(session or "")
        return expected is not None and token is not None and hmac.compare_digest(expected, token)

    def end(self) -> None:
        self.sessions.clear()
