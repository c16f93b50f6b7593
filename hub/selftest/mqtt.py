"""The self-test's broker round trip: a short-lived second MQTT client with the hub's credentials.

It must not use the hub's client id (the broker would disconnect the running hub), publishes on the
hub's own topic tree (`{prefix}/{hub}/selftest/{nonce}`, allowed by a per-hub ACL) and measures how long
the message takes to come back. Blocking: call it in a thread.
"""

from __future__ import annotations

import secrets
import threading
import time

from hub.certificates.pair import client_pair
from hub.config.loader import Config
from hub.core.uplink import replies

TIMEOUT_S = 8.0


def round_trip(config: Config, topic: str, timeout: float = TIMEOUT_S) -> float:
    """Milliseconds from publish to receipt. Raises TimeoutError, OSError or RuntimeError with the reason."""
    import paho.mqtt.client as mqtt

    cfg = config["mqtt"]
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        protocol=mqtt.MQTTv5,
        client_id=f"{config.hub_id}-selftest-{secrets.token_hex(3)}",
    )
    # The pair the hub presents now: a rotated one (hub.certificates.pair) or the provisioned one.
    replies.configure(client, cfg, client_pair(config) if cfg.get("tls") else None)
    subscribed, received = threading.Event(), threading.Event()
    refused: list[str] = []
    payload = secrets.token_hex(8).encode()

    def on_connect(c: mqtt.Client, u: object, flags: object, reason: mqtt.ReasonCode, props: object) -> None:
        if reason.is_failure:
            refused.append(f"broker refused the connection: {reason}")
            subscribed.set()
        else:
            c.subscribe(topic, qos=1)

    def on_subscribe(
        c: mqtt.Client, u: object, mid: int, reasons: list[mqtt.ReasonCode], props: object
    ) -> None:
        if any(r.is_failure for r in reasons):
            refused.append(f"subscription to the hub's own topics refused: {reasons[0]}")
        subscribed.set()

    def on_message(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
        if message.payload == payload:
            received.set()

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    start = time.monotonic()
    client.connect(cfg["host"], cfg["port"], keepalive=10)
    client.loop_start()
    try:
        if not subscribed.wait(max(0.1, timeout - (time.monotonic() - start))):
            raise TimeoutError(f"no answer from the broker in {timeout:.0f} s")
        if refused:
            raise RuntimeError(refused[0])
        sent = time.monotonic()
        client.publish(topic, payload, qos=1)
        if not received.wait(max(0.1, timeout - (time.monotonic() - start))):
            raise TimeoutError(f"own message did not come back in {timeout:.0f} s")
        return (time.monotonic() - sent) * 1000.0
    finally:
        client.disconnect()
        client.loop_stop()
