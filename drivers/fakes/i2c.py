"""A fake I2C bus with smbus2's SMBus interface, and the chip models that sit on it.

Drivers cannot tell it from `smbus2.SMBus`: the same methods, the same errors (an absent or
unwilling chip NACKs with OSError errno 121, "Remote I/O error", as Linux i2c-dev reports it).
Chip models see raw I2C transfers only: `i2c_write(bytes)` and `i2c_read(n) -> bytes`; the SMBus
"register" calls are built from those the way an adapter does (a write of the register pointer, then
a repeated-start read). Faults are injected on the models, so drivers and sensor loops are exercised
with the same byte-level failures real wiring produces.
"""

from __future__ import annotations

import ctypes
import errno
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

I2C_M_RD = 0x0001
SMBUS_BLOCK_MAX = 32


def nack(what: str = "") -> OSError:
    return OSError(errno.EREMOTEIO, "Remote I/O error" + (f" ({what})" if what else ""))


class FakeChip:
    """Base of the chip models: a lock, a time source and the fault switch.

    `fault` is None or one of the kinds in `FAULTS` (each model adds its own); 'nack' makes the chip
    ignore its address, 'short' cuts reads short.
    """

    FAULTS: tuple[str, ...] = ("nack", "short")

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self.lock = threading.RLock()
        self.fault: str | None = None
        self.transfers = 0

    def set_fault(self, kind: str | None) -> None:
        if kind is not None and kind not in self.FAULTS:
            raise ValueError(f"unknown fault {kind!r}; this chip knows {', '.join(self.FAULTS)}")
        with self.lock:
            self.fault = kind
            self._fault_changed()

    def _fault_changed(self) -> None:
        """Models that freeze state on a fault (e.g. 'stuck') capture it here."""

    def transfer_write(self, data: bytes) -> None:
        with self.lock:
            self.transfers += 1
            if self.fault == "nack":
                raise nack("address not acknowledged")
            self.i2c_write(data)

    def transfer_read(self, length: int) -> bytes:
        with self.lock:
            self.transfers += 1
            if self.fault == "nack":
                raise nack("address not acknowledged")
            data = bytes(self.i2c_read(length))[:length]
            if self.fault == "short":
                data = data[: max(0, length // 2)]
            return data

    def i2c_write(self, data: bytes) -> None:
        raise NotImplementedError

    def i2c_read(self, length: int) -> bytes:
        raise NotImplementedError


class FakeSMBus:
    """The subset of smbus2.SMBus the drivers use, over attached chip models."""

    def __init__(self, bus: int = 1) -> None:
        self.bus = bus
        self.devices: dict[int, FakeChip] = {}
        self._lock = threading.RLock()
        self.closed = False

    def attach(self, address: int, chip: FakeChip) -> FakeChip:
        with self._lock:
            if address in self.devices and self.devices[address] is not chip:
                raise ValueError(f"address 0x{address:02x} on fake bus {self.bus} is already taken")
            self.devices[address] = chip
        return chip

    def detach(self, address: int) -> None:
        with self._lock:
            self.devices.pop(address, None)

    def _chip(self, address: int) -> FakeChip:
        chip = self.devices.get(address)
        if chip is None:
            raise nack(f"nothing at 0x{address:02x} on bus {self.bus}")
        return chip

    # -- plain I2C -----------------------------------------------------------------------------
    def i2c_rdwr(self, *msgs: Any) -> None:
        with self._lock:
            for msg in msgs:
                chip = self._chip(msg.addr)
                if msg.flags & I2C_M_RD:
                    data = chip.transfer_read(msg.len)
                    ctypes.memmove(msg.buf, data, len(data))
                    msg.len = len(data)
                else:
                    chip.transfer_write(bytes(msg))

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None:
        with self._lock:
            self._chip(i2c_addr).transfer_write(b"")

    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int:
        with self._lock:
            return self._one(self._chip(i2c_addr).transfer_read(1))

    def write_byte(self, i2c_addr: int, value: int, force: bool | None = None) -> None:
        with self._lock:
            self._chip(i2c_addr).transfer_write(bytes((value & 0xFF,)))

    # -- SMBus register access -----------------------------------------------------------------
    def _register_read(self, address: int, register: int, length: int) -> bytes:
        with self._lock:
            chip = self._chip(address)
            chip.transfer_write(bytes((register & 0xFF,)))
            return chip.transfer_read(length)

    def _register_write(self, address: int, register: int, data: Sequence[int]) -> None:
        with self._lock:
            self._chip(address).transfer_write(bytes([register & 0xFF, *(b & 0xFF for b in data)]))

    @staticmethod
    def _one(data: bytes) -> int:
        if not data:
            raise nack("no data byte")  # an adapter reports a missing SMBus byte as an I/O error
        return data[0]

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        return self._one(self._register_read(i2c_addr, register, 1))

    def write_byte_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        self._register_write(i2c_addr, register, [value])

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        data = self._register_read(i2c_addr, register, 2)
        if len(data) < 2:
            raise nack("short SMBus word")
        return data[0] | data[1] << 8  # SMBus words are little-endian

    def write_word_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        self._register_write(i2c_addr, register, [value & 0xFF, (value >> 8) & 0xFF])

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        if length > SMBUS_BLOCK_MAX:
            raise ValueError(f"Desired block length over {SMBUS_BLOCK_MAX} bytes")
        return list(self._register_read(i2c_addr, register, length))

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: Sequence[int], force: bool | None = None
    ) -> None:
        if len(data) > SMBUS_BLOCK_MAX:
            raise ValueError(f"Data length cannot exceed {SMBUS_BLOCK_MAX} bytes")
        self._register_write(i2c_addr, register, data)

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeSMBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
