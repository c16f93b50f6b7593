"""Bluetooth SIG GATT characteristic formats for health devices: pure bytes -> frozen dataclasses.

Nothing here touches a radio. Every decoder raises `MalformedValue` (a ValueError) naming the field and
the byte offset, so a technician reading a log line can find the bad byte in a capture.
"""

from __future__ import annotations

from typing import Literal


class MalformedValue(ValueError):
    """A characteristic value that does not follow its Bluetooth SIG definition."""

    def __init__(self, characteristic: str, field: str, offset: int, problem: str) -> None:
        self.characteristic, self.field, self.offset, self.problem = characteristic, field, offset, problem
        super().__init__(f"{characteristic}: {field} at byte {offset}: {problem}")


class Reader:
    """A cursor over one characteristic value that names the field when bytes run out."""

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        characteristic: str,
        big_endian: frozenset[str] = frozenset(),
    ) -> None:
        self.data = bytes(data)
        self.characteristic = characteristic
        self.pos = 0
        # Fields a meter is known to send most-significant byte first (a quirk profile says which).
        self.big_endian = big_endian

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, field: str) -> bytes:
        if self.pos + n > len(self.data):
            raise self.error(
                field,
                f"needs {n} byte(s), value has {len(self.data) - self.pos} left (length {len(self.data)})",
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def _order(self, field: str) -> Literal["big", "little"]:
        return "big" if field in self.big_endian else "little"

    def u16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), self._order(field))

    def s16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), self._order(field), signed=True)

    def word_le(self, field: str) -> bytes:
        """Two bytes in little-endian order whatever the meter sent (for SFLOAT fields)."""
        chunk = self.take(2, field)
        return chunk[::-1] if field in self.big_endian else chunk

    def error(self, field: str, problem: str, offset: int | None = None) -> MalformedValue:
        return MalformedValue(self.characteristic, field, self.pos if offset is None else offset, problem)


def code_name(table: dict[int, str], code: int | None) -> str | None:
    """A SIG code's name in `table`; a code the table lacks is `reserved_<code>` (the SIG may assign it
    later), and an absent field stays None."""
    return None if code is None else table.get(code, f"reserved_{code}")


def parse_hex(text: str) -> bytes:
    """Accept '1E8A00', '1e 8a 00', '1E:8A:00' or '0x1E,0x8A' as technicians paste them."""
    cleaned = text.replace("0x", "").replace("0X", "")
    for sep in (" ", ":", ",", "-", "\t", "\n"):
        cleaned = cleaned.replace(sep, "")
    if not cleaned:
        raise ValueError("empty hex value")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError(f"not hex bytes: {text!r} (expected pairs of 0-9A-F, e.g. 1E8A00)") from None
