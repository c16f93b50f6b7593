"""CRC-8 as Sensirion specifies it for every 16-bit word its sensors send or accept.

Polynomial 0x31 (x^8 + x^5 + x^4 + 1), initial value 0xFF, no reflection, no final XOR.
The datasheet's check value: crc8_sensirion(b"\\xbe\\xef") == 0x92.
"""

from __future__ import annotations


def _table(poly: int) -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        out.append(crc)
    return tuple(out)


_TABLE = _table(0x31)


def crc8_sensirion(data: bytes | bytearray | list[int]) -> int:
    crc = 0xFF
    for byte in data:
        crc = _TABLE[crc ^ byte]
    return crc
