"""BTHome advertisements as real buttons send them, through bleak's real BleakScanner API (the virtual
backend delivers AdvertisementData to the detection callback), decoded by bthome-ble (drivers/ble/adverts.py):
the encoder of the simulated pendant matches bthome-ble's own reference encryption byte for byte, and the
attacker's first probes are refused: wrong key, a stranger's address, a spoofed address without the key,
an unencrypted frame for a device bound with a key (downgrade), oversize and garbage service data.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from bleak import BleakScanner

from drivers.ble.adverts import AdvertDecoder, Frame, Refused, identify
from drivers.ble.virtual.bthome_device import BTHOME_UUID, BthomeButton, objects, service_data
from drivers.ble.virtual.radio import VirtualRadio
from hub.config.loader import ConfigError, validate

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
OTHER = bytes.fromhex("00112233445566778899aabbccddeeff")
MAC = "A4:C1:38:00:00:01"


def test_encryption_matches_bthome_reference_frame() -> None:
    """bthome-ble ships the BTHome v2 reference encoder (bthome_ble.bthome_v2_encryption): same bytes."""
    from bthome_ble.bthome_v2_encryption import encrypt_payload

    data = bytes.fromhex("02CA0903BF13")  # temperature 25.06 °C, humidity 50.55 %
    with contextlib.redirect_stdout(io.StringIO()):  # the reference prints its steps
        reference = encrypt_payload(data, bytes.fromhex("5448E68F80A5"), b"\xd2\xfc", b"\x41",
                                    (1122867).to_bytes(4, "little"), KEY)
    ours = service_data("54:48:E6:8F:80:A5", data, key=KEY, counter=1122867, trigger_based=False)
    assert reference[:2] == b"\xd2\xfc"  # the reference includes the UUID; service data starts after it
    assert ours == reference[2:]


def heard(buttons: list[BthomeButton], act: Any) -> list[tuple[Any, Any]]:
    """Run `act(radio)` with a real BleakScanner on the virtual backend; every (device, adv) it delivered."""
    got: list[tuple[Any, Any]] = []

    async def main() -> None:
        radio = VirtualRadio(ad_interval_s=3600)
        for b in buttons:
            radio.add(b)
        scanner = BleakScanner(detection_callback=lambda d, a: got.append((d, a)), backend=radio.scanner_backend)
        await scanner.start()
        act(radio)
        await asyncio.sleep(0)
        await scanner.stop()

    asyncio.run(main())
    return got


def decode_all(address: str, key: bytes | None, got: list[tuple[Any, Any]]) -> list[Frame | Refused]:
    decoder = AdvertDecoder(address, key)
    return [decoder.decode(d, a) for d, a in got if d.address.upper() == address]


def test_press_through_bleak_scanner_api() -> None:
    button = BthomeButton(MAC, KEY, battery_pct=87, counter=41)
    got = heard([button], lambda radio: (button.send("press"), button.send("double"), button.send("long")))
    assert all(set(a.service_data) == {BTHOME_UUID} for _, a in got)
    frames = decode_all(MAC, KEY, got)
    assert [(f.events, f.counter, f.battery_pct, f.encrypted) for f in frames if isinstance(f, Frame)] == [
        (["press"], 42, 87, True), (["double"], 43, 87, True), (["long"], 44, 87, True)]
    assert identify(*got[0]) == {"address": MAC, "name": "SBBT-002C", "rssi": -70, "protocol": "bthome",
                                 "kind": "button", "needs_key": True}


@pytest.mark.parametrize(("sender", "bound_key", "reason"), [
    (BthomeButton(MAC, OTHER), KEY, "wrong_key"),  # same address, someone else's key: a spoof
    (BthomeButton(MAC, None), KEY, "unencrypted"),  # the downgrade: plain frame for a keyed device
    (BthomeButton(MAC, KEY), None, "wrong_key"),  # encrypted, but bound without a key: cannot read it
])
def test_spoofs_are_refused(sender: BthomeButton, bound_key: bytes | None, reason: str) -> None:
    got = heard([sender], lambda radio: sender.send("press"))
    assert [type(r).__name__ + ":" + getattr(r, "reason", "") for r in decode_all(MAC, bound_key, got)] == \
        [f"Refused:{reason}"]


def test_a_strangers_frame_under_our_key_does_not_decrypt_for_our_address() -> None:
    """The nonce holds the sender's address: a frame made for one pendant never passes for another."""
    stranger = BthomeButton("A4:C1:38:99:99:99", KEY)
    got = heard([stranger], lambda radio: stranger.send("press"))
    (device, adv), = got
    device.address = MAC  # a relay re-sending it under our pendant's address
    assert AdvertDecoder(MAC, KEY).decode(device, adv) == Refused(MAC, "wrong_key", -70)


@pytest.mark.parametrize(("payload", "reason"), [
    (b"\x45" + bytes(200), "oversize"),
    (b"\x45\x01", "wrong_key"),  # too short to hold a counter and a MIC
    (b"\x45" + bytes(12), "wrong_key"),  # zeros where the MIC is: the tag does not verify
    (b"\x40\xff\xff", "garbage"),  # plain, an unknown object id
    (b"", "garbage"),
])
def test_garbage_and_oversize_service_data(payload: bytes, reason: str) -> None:
    button = BthomeButton(MAC, KEY)

    def act(radio: VirtualRadio) -> None:
        button.advertising = True
        button.advertise_once({BTHOME_UUID: payload})

    got = heard([button], act)
    bound_key = None if payload[:1] == b"\x40" or not payload else KEY
    results = decode_all(MAC, bound_key, got)
    assert results and all(isinstance(r, Refused) and r.reason == reason for r in results)


def test_plain_frame_from_a_device_bound_without_key_is_read() -> None:
    """A device that cannot encrypt ([[triggers]] key = ''): read, and its packet id is what tells repeats."""
    sd = service_data(MAC, objects(7, 55, "press"), key=None)
    button = BthomeButton(MAC, None)

    def act(radio: VirtualRadio) -> None:
        button.advertising = True
        button.advertise_once({BTHOME_UUID: sd})

    (frame,) = decode_all(MAC, None, heard([button], act))
    assert isinstance(frame, Frame) and frame.events == ["press"] and frame.packet_id == 7 and not frame.encrypted


def config(**trigger: Any) -> dict[str, Any]:
    raw = {"hub": {"id": "t"}, "triggers": [{"id": "p1", "address": MAC, "key": KEY.hex(), "room": "卧室",
                                              **trigger}]}
    return validate(raw)


def test_config_checks_triggers() -> None:
    cfg = config()
    assert cfg["triggers"][0]["press"] == "emergency" and cfg["supervision"]["supervision_h"] == 24
    for bad in ({"address": "A4:C1:38:00:00"}, {"key": "abc"}, {"press": "pizza"}, {"id": "p 1"}):
        with pytest.raises(ConfigError):
            config(**bad)
    with pytest.raises(ConfigError, match="supervision"):
        validate({"hub": {"id": "t"}, "supervision": {"supervision_h": 48}})  # never longer than 24 h
    with pytest.raises(ConfigError):
        validate({"hub": {"id": "t"}, "triggers": [{"id": "a", "address": MAC}, {"id": "a", "address": MAC}]})


def test_scan_lists_bthome_advertisers_with_kind_signal_and_key() -> None:
    """`hub ble scan --triggers`: what is nearby, through the passive scanner callback."""
    from drivers.ble.adverts import scan_adverts

    async def main() -> list[dict[str, Any]]:
        radio = VirtualRadio(ad_interval_s=0.05)
        keyed = radio.add(BthomeButton(MAC, KEY, rssi=-55))
        plain = radio.add(BthomeButton("A4:C1:38:00:00:09", None, name="SBDW-002C", rssi=-80))
        for b in (keyed, plain):
            b.service_data = {BTHOME_UUID: b.frame(None)}
            b.advertising = True
        return await scan_adverts(0.2, backend=radio.scanner_backend)

    found = asyncio.run(main())
    assert [(d["address"], d["kind"], d["needs_key"], d["rssi"]) for d in found] == [
        (MAC, "button", True, -55), ("A4:C1:38:00:00:09", "door", False, -80)]


def test_provisioning_bundle_takes_triggers_and_hides_their_keys(tmp_path: Path) -> None:
    from hub.provision.bundle import BundleError, check
    from hub.provision.writer import render

    example = json.loads((Path(__file__).resolve().parent.parent / "config/bundle.example.json").read_text())
    example["triggers"] = [{"id": "pendant", "address": MAC, "key": KEY.hex(), "room": "卧室", "kind": "pendant"},
                           {"id": "cord", "address": "A4:C1:38:00:00:02", "key": OTHER.hex(), "room": "卫生间",
                            "kind": "pull_cord", "long": "emergency"}]
    rendered = render(check(example), tmp_path / "hub.toml")
    assert [(t["id"], t["room"], t["key"]) for t in rendered.config["triggers"]] == [
        ("pendant", "卧室", KEY.hex()), ("cord", "卫生间", OTHER.hex())]
    assert rendered.fitted["triggers"] == [{"id": "pendant", "room": "卧室"}, {"id": "cord", "room": "卫生间"}]
    bad = json.loads(json.dumps(example))
    bad["triggers"][0]["key"] = "not-a-key-" + KEY.hex()[10:]
    with pytest.raises(BundleError) as err:
        check(bad)
    assert "triggers[0].key" in str(err.value) or "triggers.0.key" in str(err.value)
    assert KEY.hex()[10:] not in str(err.value)  # a secret's value is never shown
