"""What this package asks of other running components, as Protocols of its own (never an import of theirs).

`ctx.component(name)` gives the component or None; `as_peer` keeps it only if it has the method asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Triggers(Protocol):
    """hub.triggers: supervision of wireless triggers and sensors (heard, battery, signal)."""

    def heard(self, device_id: str, *, room: str, kind: str, battery_low: bool | None = None,
              battery_pct: int | None = None, signal: int | None = None) -> None: ...


@runtime_checkable
class Calls(Protocol):
    """hub.calls: a wireless trigger raises the same call as a wired button."""

    async def raise_wireless(self, device: str, room: str, kind: str = "emergency",
                             ts: datetime | None = None) -> str: ...

    async def cancel_wireless(self, device: str) -> bool: ...


@runtime_checkable
class Fire(Protocol):
    """hub.home: smoke seen by another capability's sensor joins the home's fire alarm."""

    async def smoke_seen(self, present: bool, part: str, source: str, room: str = "") -> str | None: ...


def as_peer(component: Any, protocol: type) -> Any:
    """The component if it has what `protocol` asks for, else None (annotate the result with the Protocol)."""
    return component if component is not None and isinstance(component, protocol) else None
