"""Telling the listeners of something that happened (an event committed, a press, a PUBACK, a clock step):
each in turn, and one that raises is logged while the rest are still told — a capability's bug must not
keep the others, or the alarm path that told them, from going on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)


def tell_all(listeners: Iterable[Callable[..., Any]], what: str, *args: Any) -> None:
    for listener in list(listeners):
        try:
            listener(*args)
        except Exception:
            log.exception("%s listener failed", what)
