"""paho's queued packets leave in one send (hub.core.uplink.paho_loop): a drain's refill of rows handed to
paho together is one write to the broker, not one each (each send woke the broker, which preempted the
hub); what paho does once a packet is written (a QoS 0 publish marked published, a DISCONNECT closing
the socket) still happens, for that packet alone. Through a real mosquitto, then the joining itself."""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

import paho.mqtt.client as paho
from support import PREFIX, wait_until

from hub.core.uplink.paho_client import COALESCE_MAX, Client, coalesce

TOPIC = f"{PREFIX}/test-0001/event/telemetry"


def client_on(port: int, sends: list[int]) -> tuple[Client, list[int]]:
    """The hub's paho client class, connected, its writes left to the caller (as the hub's loop does:
    a write hook is set, so publish() only queues), every send() counted."""
    client = Client(paho.CallbackAPIVersion.VERSION2, client_id="test-writes", protocol=paho.MQTTv5)
    client.max_inflight_messages_set(32)
    acked: list[int] = []

    def on_publish(c: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
        assert not reason.is_failure and reason.value in (0x00, 0x10)  # shared success codes decode alike
        acked.append(mid)

    client.on_publish = on_publish
    client.on_socket_register_write = lambda c, u, sock: None
    send = client._sock_send

    def counted(buf: Any) -> int:
        sends.append(len(buf))
        return send(buf)

    client._sock_send = counted  # type: ignore[method-assign]
    client.connect("127.0.0.1", port, keepalive=30)
    while not client.is_connected():
        client.loop(0.05)
    return client, acked


def test_rows_handed_to_paho_together_leave_in_one_send_and_each_arrives_in_order(broker, subscriber) -> None:
    sub = subscriber(TOPIC)
    sends: list[int] = []
    client, acked = client_on(broker.port, sends)
    try:
        mids = [client.publish(TOPIC, json.dumps({"type": "telemetry.test", "seq": i}), qos=1).mid
                for i in range(20)]
        sends.clear()
        client.loop_write()
        assert len(sends) == 1  # twenty PUBLISH packets, one send
        end = time.monotonic() + 20
        while len(acked) < 20 and time.monotonic() < end:
            client.loop(0.05)
        assert sorted(acked) == sorted(mids)  # every one PUBACKed
        wait_until(lambda: len(sub.events()) >= 20, 20, lambda: f"{len(sub.events())} of 20 arrived")
        assert [e["seq"] for e in sub.events()] == list(range(20))

        quick = client.publish(TOPIC, json.dumps({"type": "telemetry.test", "seq": 20}), qos=0)
        client.publish(TOPIC, json.dumps({"type": "telemetry.test", "seq": 21}), qos=1)
        client.loop_write()
        assert quick.is_published()  # paho's own step after a QoS 0 write still ran
        wait_until(lambda: len(sub.events()) >= 22, 20)
    finally:
        gone: list[Any] = []
        client.on_disconnect = lambda c, u, flags, reason, props: gone.append(reason)
        client.disconnect()
        client.loop_write()
    assert len(gone) == 1 and not gone[0].is_failure  # the DISCONNECT was written and the socket closed
    assert [e["seq"] for e in sub.events()][:22] == list(range(22))


def packet(command: int, qos: int, data: bytes, pos: int = 0) -> dict[str, Any]:
    return {"command": command, "mid": 0, "qos": qos, "pos": pos, "to_process": len(data) - pos,
            "packet": data, "info": None}


def test_only_packets_paho_finishes_with_nothing_are_joined() -> None:
    publish1, puback = paho.PUBLISH | 0x02, paho.PUBACK
    out = deque([packet(publish1, 1, b"ab"), packet(puback, 0, b"cd"), packet(paho.PUBLISH, 0, b"ef"),
                 packet(publish1, 1, b"gh"), packet(paho.DISCONNECT, 0, b"ij"), packet(publish1, 1, b"kl")])
    coalesce(out)
    assert [(p["packet"], p["to_process"], p["pos"]) for p in out] == [
        (b"abcd", 4, 0), (b"ef", 2, 0), (b"gh", 2, 0), (b"ij", 2, 0), (b"kl", 2, 0)]
    assert [p["command"] for p in out] == [publish1, paho.PUBLISH, publish1, paho.DISCONNECT, publish1]


def test_a_partly_written_packet_joins_with_its_unwritten_bytes_and_a_run_stops_at_the_cap() -> None:
    publish1 = paho.PUBLISH | 0x02
    big = b"x" * (COALESCE_MAX - 3)  # with "ef" and "yz": one byte over the cap
    out = deque([packet(publish1, 1, b"abcdef", pos=4), packet(publish1, 1, big), packet(publish1, 1, b"yz")])
    coalesce(out)
    assert [p["packet"] for p in out] == [b"ef" + big, b"yz"]
    assert out[0]["to_process"] == len(b"ef" + big) and out[0]["pos"] == 0
