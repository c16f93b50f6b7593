"""WitMotion BLE 5.0 IMU (WT901BLECL / WT9011DCL) acceleration packets: a thin pure parser.

The sensor notifies on characteristic 0000ffe4-... (service 0000ffe5-...) packets of 20 bytes:

    0x55 0x61 | ax ay az | wx wy wz | roll pitch yaw     (int16 little-endian each)

acceleration g = raw / 32768 * 16, angular rate deg/s = raw / 32768 * 2000, angle deg = raw / 32768 * 180.
One notification may carry several packets, or other packet types (0x55 0x71 register replies), which
are skipped. Commands go to 0000ffe9-...: `FF AA reg lo hi`; the output rate is register 0x03.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"
SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
PACKET = b"\x55\x61"
PACKET_LEN = 20
ACC_SCALE = 16.0 / 32768.0
GYRO_SCALE = 2000.0 / 32768.0
ANGLE_SCALE = 180.0 / 32768.0
# Output rate codes of register 0x03 (RRATE): Hz -> code.
RATE_CODES = {10: 0x06, 20: 0x07, 50: 0x08, 100: 0x09, 200: 0x0B}
_FMT = struct.Struct("<9h")


@dataclass(frozen=True)
class ImuSample:
    acc_g: tuple[float, float, float]
    gyro_dps: tuple[float, float, float]
    angle_deg: tuple[float, float, float]


def parse_notification(data: bytes) -> tuple[list[ImuSample], int]:
    """Samples in one notification, and how many bytes were skipped (unknown packets, debris)."""
    samples: list[ImuSample] = []
    i, skipped = 0, 0
    while i < len(data):
        j = data.find(PACKET, i)
        if j < 0 or j + PACKET_LEN > len(data):
            skipped += len(data) - i
            break
        skipped += j - i
        v = _FMT.unpack_from(data, j + 2)
        samples.append(ImuSample((v[0] * ACC_SCALE, v[1] * ACC_SCALE, v[2] * ACC_SCALE),
                                 (v[3] * GYRO_SCALE, v[4] * GYRO_SCALE, v[5] * GYRO_SCALE),
                                 (v[6] * ANGLE_SCALE, v[7] * ANGLE_SCALE, v[8] * ANGLE_SCALE)))
        i = j + PACKET_LEN
    return samples, skipped


def encode_sample(acc_g: tuple[float, float, float], gyro_dps: tuple[float, float, float] = (0, 0, 0),
                  angle_deg: tuple[float, float, float] = (0, 0, 0)) -> bytes:
    """A packet as the sensor sends it (simulation, tests); values clipped to the sensor's range."""
    def raw(v: float, scale: float) -> int:
        return max(-32768, min(32767, round(v / scale)))

    values = [raw(a, ACC_SCALE) for a in acc_g] + [raw(w, GYRO_SCALE) for w in gyro_dps] + \
        [raw(a, ANGLE_SCALE) for a in angle_deg]
    return PACKET + _FMT.pack(*values)


def rate_command(hz: int) -> bytes:
    """Set the output rate (write to WRITE_UUID). Unsupported rates raise ValueError naming the choices."""
    if hz not in RATE_CODES:
        raise ValueError(f"WitMotion output rate {hz} Hz not supported; choose one of {sorted(RATE_CODES)}")
    return bytes((0xFF, 0xAA, 0x03, RATE_CODES[hz], 0x00))
