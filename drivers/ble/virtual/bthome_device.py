"""A BTHome v2 button as it advertises (Shelly BLU Button1 and the like): the bytes of its 0xFCD2 service
data, encrypted with its bind key the way BTHome v2 does (AES-CCM, 4-byte MIC; nonce = MAC + UUID16 +
device-info byte + 4-byte counter), for the simulated pendant and the tests. Only the sending side: the hub
decodes with the maintained `bthome-ble` parser (drivers/ble/adverts.py), never with this.
"""

from __future__ import annotations

from drivers.ble.virtual.gatt import VirtualPeripheral

BTHOME_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"
# Object ids (bthome.io/format): packet id, battery %, button event
OBJ_PACKET_ID, OBJ_BATTERY, OBJ_BUTTON = 0x00, 0x01, 0x3A
BUTTON_EVENTS = {"none": 0x00, "press": 0x01, "double": 0x02, "triple": 0x03, "long": 0x04}


def device_info(encrypted: bool, trigger_based: bool = True) -> int:
    """BTHome v2 device-information byte: version 2 in bits 5-7, bit 2 trigger-based, bit 0 encrypted."""
    return (2 << 5) | (0x04 if trigger_based else 0) | (0x01 if encrypted else 0)


def objects(packet_id: int, battery_pct: int | None, event: str | None) -> bytes:
    out = bytes([OBJ_PACKET_ID, packet_id & 0xFF])
    if battery_pct is not None:
        out += bytes([OBJ_BATTERY, max(0, min(100, battery_pct))])
    if event is not None:
        out += bytes([OBJ_BUTTON, BUTTON_EVENTS[event]])
    return out


def service_data(mac: str, payload: bytes, *, key: bytes | None, counter: int = 0, trigger_based: bool = True) -> bytes:
    """The FCD2 service data for `payload` (BTHome objects): plain, or encrypted with `key`."""
    info = device_info(encrypted=key is not None, trigger_based=trigger_based)
    if key is None:
        return bytes([info]) + payload
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    count = (counter & 0xFFFFFFFF).to_bytes(4, "little")
    nonce = bytes.fromhex(mac.replace(":", "")) + b"\xd2\xfc" + bytes([info]) + count
    sealed = AESCCM(key, tag_length=4).encrypt(nonce, payload, None)
    return bytes([info]) + sealed[:-4] + count + sealed[-4:]


class BthomeButton(VirtualPeripheral):
    """A wearable or pull-cord button on the virtual radio: advertises only, a burst per press and a
    heartbeat now and then, each with the next counter (the device keeps it across presses)."""

    def __init__(self, address: str, key: bytes | None, *, name: str = "SBBT-002C", rssi: int = -70,
                 battery_pct: int = 100, counter: int = 1) -> None:
        super().__init__(address, name, [], advertised=[BTHOME_UUID], rssi=rssi)
        self.key, self.battery_pct, self.counter, self.packet_id = key, battery_pct, counter, 0

    def frame(self, event: str | None) -> bytes:
        self.counter += 1
        self.packet_id = (self.packet_id + 1) & 0xFF
        return service_data(self.address, objects(self.packet_id, self.battery_pct, event), key=self.key,
                            counter=self.counter)

    def send(self, event: str | None) -> bytes:
        """Advertise one frame (a press: "press" | "double" | "long"; a heartbeat: None); returns its bytes."""
        data = self.frame(event)
        self.advertising = True
        self.advertise_once({BTHOME_UUID: data})
        self.advertising = False  # a button sends its burst and goes back to sleep
        return data
