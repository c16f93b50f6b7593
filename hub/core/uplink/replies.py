"""What the broker says back, in words an installer can act on: PUBACK refusals, CONNACK refusals and
limits, and a diagnosis for a broker that will not speak MQTT 5.

Pure helpers (plus one blocking probe) for hub.core.uplink.session; no state of their own.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)

# MQTT 5 PUBACK/CONNACK/DISCONNECT reason codes of 0x80 and above, as the words fault.uplink carries.
REFUSALS = {
    0x80: "unspecified", 0x83: "implementation_specific", 0x87: "not_authorized",
    0x90: "topic_invalid", 0x91: "packet_id_in_use", 0x97: "quota", 0x99: "payload_format_invalid",
}
REMEDIES = {
    "not_authorized": "检查平台 broker 的 ACL：本机须可发布 {topic} / the broker's ACL must allow this hub "
                      "to publish {topic} (user {user})",
    "quota": "broker 配额已满，稍后重试 / the broker's quota for this hub is used up; ask the platform to "
             "raise it",
    "topic_invalid": "检查 [mqtt] topic_prefix / check [mqtt] topic_prefix: the broker refuses {topic}",
}
TAKEN_OVER = 0x8E  # DISCONNECT: Session taken over (another client connected with our id)
UNSUPPORTED_PROTOCOL = 0x84
RETAIN_NOT_SUPPORTED = 0x9A
QOS_NOT_SUPPORTED = 0x9B
WHY_MQTT5 = ("The hub needs MQTT 5: its session expiry keeps the platform's commands and the hub's "
             "unconfirmed calls queued across a reconnect for [mqtt] session_expiry_s, and MQTT 5 PUBACK "
             "reason codes tell the hub when the broker refused a call instead of delivering it. "
             "Enable MQTT 5 on the broker (mosquitto >= 1.6, EMQX, HiveMQ, RabbitMQ >= 3.13) or point "
             "[mqtt] host at one that has it.")


def refusal_word(code: int) -> str:
    return REFUSALS.get(code, f"code_0x{code:02x}")


def remedy(word: str, topic: str, user: str | None, pair: tuple[str, str] | None = None) -> str:
    """`user`: [mqtt] username; else the client certificate `pair`, whose CN brokers take as the user."""
    who = user or (f"the CN of {pair[0]}" if pair else "(anonymous)")
    return REMEDIES.get(word, "检查平台 broker 日志 / see the broker's log for why it refused").format(
        topic=topic, user=who)


def connack_refusal(reason: Any, host: str, port: int) -> str:
    """The installer's message for a CONNACK with a failure reason code."""
    code = int(getattr(reason, "value", 0))
    where = f"broker {host}:{port}"
    if code == UNSUPPORTED_PROTOCOL:
        return f"{where} refused MQTT 5 ({reason}). {WHY_MQTT5}"
    if code in (0x86, 0x87, 0x8C):
        return f"{where} refused the login ({reason}): check [mqtt] username / password"
    if code == 0x85:
        return f"{where} refused the client id ({reason}): check [hub] id against the platform's record"
    if code == RETAIN_NOT_SUPPORTED:
        return f"{where} refused the Last Will ({reason}): it has no retained messages; retrying without"
    if code == QOS_NOT_SUPPORTED:
        return f"{where} refused the Last Will's QoS 1 ({reason}); retrying with QoS 0"
    return f"{where} refused the connection ({reason})"


@dataclass(frozen=True)
class Limits:
    """What the broker's CONNACK allows (MQTT 5 §3.2.2.3); absent properties mean "no limit"."""

    max_qos: int = 2
    receive_max: int = 65535
    topic_alias_max: int = 0
    wildcards: bool = True
    retain: bool = True
    session_expiry: int = -1  # what the broker granted, when it says (ejabberd always does); -1: as asked

    @classmethod
    def from_connack(cls, props: Any) -> Limits:
        def get(name: str, default: int) -> int:
            value = getattr(props, name, None)
            return default if value is None else int(value)
        return cls(max_qos=get("MaximumQoS", 2), receive_max=get("ReceiveMaximum", 65535),
                   topic_alias_max=get("TopicAliasMaximum", 0),
                   wildcards=bool(get("WildcardSubscriptionAvailable", 1)),
                   retain=bool(get("RetainAvailable", 1)), session_expiry=get("SessionExpiryInterval", -1))

    def differences(self, asked_session_expiry: int = 0) -> list[str]:
        """The limits that change what the hub does, for the log."""
        out = []
        if 0 <= self.session_expiry < asked_session_expiry:
            out.append(f"session expiry {self.session_expiry} s, not the {asked_session_expiry} s asked "
                       "([mqtt] session_expiry_s): commands for this hub are dropped once it has been offline "
                       "longer; raise the broker's limit (ejabberd: mod_mqtt session_expiry, EMQX: "
                       "mqtt.session_expiry_interval)")
        if self.max_qos < 1:
            out.append("Maximum QoS 0 (no PUBACK: no call can be confirmed)")
        if self.receive_max < 65535:
            out.append(f"Receive Maximum {self.receive_max}")
        if not self.wildcards:
            out.append("no wildcard subscriptions (subscribing to each command topic)")
        if not self.retain:
            out.append("no retained messages (status and Last Will not retained)")
        return out


def tls_context(tls: dict[str, Any], pair: tuple[str, str] | None) -> ssl.SSLContext:
    """The TLS settings of [mqtt.tls] with the client certificate `pair` (cert, key). Raises OSError or
    ssl.SSLError when a file is unreadable or the key does not belong to the certificate."""
    from hub.core.lightweight import openssl

    # Only with [mqtt.tls]: a hub started without it has not loaded OpenSSL (hub.cli.run), and loads it
    # here should a TLS connection be wanted after all.
    tls_module = openssl()
    context: ssl.SSLContext = tls_module.SSLContext(tls_module.PROTOCOL_TLS_CLIENT)
    if tls.get("ca"):
        context.load_verify_locations(cafile=tls["ca"])
    else:
        context.load_default_certs()
    if pair is not None:
        context.load_cert_chain(certfile=pair[0], keyfile=pair[1])
    context.check_hostname = not bool(tls.get("insecure"))
    return context


def configure(client: mqtt.Client, cfg: dict[str, Any], pair: tuple[str, str] | None = None) -> None:
    """Credentials and TLS from [mqtt], for the hub's client and the protocol probe alike. `pair`: the
    client certificate and key in use (hub.certificates.pair; default [mqtt.tls] cert / key)."""
    if cfg["username"] is not None:
        client.username_pw_set(cfg["username"], cfg["password"])
    tls = cfg.get("tls")
    if tls:
        if pair is None and tls.get("cert") and tls.get("key"):
            pair = (tls["cert"], tls["key"])
        client.tls_set_context(tls_context(tls, pair))
        client.tls_insecure_set(bool(tls["insecure"]))


def probe_v311(cfg: dict[str, Any], client_id: str, timeout: float = 5.0,
               pair: tuple[str, str] | None = None) -> int | None:
    """Blocking: connect once with MQTT 3.1.1 (a clean session under its own client id, so the hub's
    session is untouched) and return the CONNACK return code, or None if there was none."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                         clean_session=True, reconnect_on_failure=False)
    configure(client, cfg, pair)
    answered = threading.Event()
    codes: list[int] = []

    def on_connect(c: mqtt.Client, u: Any, flags: Any, reason: Any, props: Any) -> None:
        codes.append(0 if not reason.is_failure else int(reason.value))
        answered.set()

    client.on_connect = on_connect
    client.on_disconnect = lambda c, u, flags, reason, props: answered.set()
    try:
        client.connect(cfg["host"], cfg["port"], keepalive=10)
        client.loop_start()
        answered.wait(timeout)
        if codes and codes[0] == 0:
            client.disconnect()
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        log.debug("MQTT 3.1.1 probe failed: %s", exc)
    finally:
        client.loop_stop()
    return codes[0] if codes else None


def closed_before_connack(host: str, port: int, v311_code: int | None) -> str:
    """The installer's message when the broker closed the connection without answering CONNECT."""
    where = f"broker {host}:{port}"
    if v311_code == 0:
        return (f"{where} speaks only MQTT 3.1.1: it gave the MQTT 5 connection no CONNACK (closed it, or "
                f"never answered) but accepts 3.1.1. {WHY_MQTT5}")
    return (f"{where} closed the connection before accepting it (no CONNACK): it may not speak MQTT 5, "
            "or it refused this hub's TLS certificate or login; check the broker's log, [mqtt] tls and "
            "username/password")
