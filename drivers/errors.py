"""The error an I2C chip driver raises when the chip answers with something unusable."""

from __future__ import annotations


class ChipDataError(ValueError):
    """An unusable answer; `kind` names what went wrong ('short', 'crc', 'timeout', ...) for supervision,
    the message says it with the bytes."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        super().__init__(detail)
