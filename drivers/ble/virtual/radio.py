"""An in-memory bleak backend: `BleakClient(..., backend=radio.client_backend)` talks to peripherals
that live in the same process, with the ATT behaviour real meters show.

What is modelled (and what tests rely on):
- connecting needs the peripheral to be advertising; a connected peripheral stops advertising;
- a characteristic marked `requires_bond` fails with ATT 0x05 Insufficient Authentication
  (BleakGATTProtocolError) on a link without a bond, as meters reject indications before pairing;
- values reach the client only after its CCCD write (start_notify); notifications pushed while
  BlueZ's AcquireNotify is still handing over its socket are lost unless the client asked for
  bluez={"use_start_notify": True} (indications always go through StartNotify);
- each notification/indication yields to the loop, so a peripheral can drop the link mid-transfer
  and the client sees an unsolicited disconnect (disconnected_callback) exactly like a radio loss.

Split in three: the peripheral/GATT model (`drivers/ble/virtual/gatt.py`), the bleak client and
scanner backends (`drivers/ble/virtual/backends.py`), and here the radio that joins them.
"""

from __future__ import annotations

from drivers.ble.virtual.backends import VirtualBleakClient, VirtualBleakScanner
from drivers.ble.virtual.gatt import VirtualPeripheral


class VirtualRadio:
    """The air between the hub's virtual adapter and the simulated peripherals."""

    def __init__(self, ad_interval_s: float = 0.2) -> None:
        self.ad_interval_s = ad_interval_s
        self.peripherals: dict[str, VirtualPeripheral] = {}
        self.bonds: set[str] = set()  # the hub side's bond store (BlueZ keeps it under /var/lib/bluetooth)
        self.scanners: set[VirtualBleakScanner] = set()
        self.client_backend: type[VirtualBleakClient] = type(
            "VirtualBleakClient", (VirtualBleakClient,), {"radio": self}
        )
        self.scanner_backend: type[VirtualBleakScanner] = type(
            "VirtualBleakScanner", (VirtualBleakScanner,), {"radio": self}
        )

    def add(self, peripheral: VirtualPeripheral) -> VirtualPeripheral:
        peripheral.radio = self
        self.peripherals[peripheral.address] = peripheral
        return peripheral

    def bond(self, address: str) -> None:
        """Pre-existing bond on both sides, as after `hub ble pair`."""
        self.bonds.add(address.upper())
        self.peripherals[address.upper()].bonded = True

    def announce(self, peripheral: VirtualPeripheral) -> None:
        for scanner in list(self.scanners):
            scanner._heard(peripheral)

    def close(self) -> None:
        for p in self.peripherals.values():
            p.drop_link()
            p.advertising = False
