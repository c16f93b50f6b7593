"""The bundle's credentials, beyond what a schema can say: both halves of a pair, no default or demo
password, account or hub id, and a client certificate the hub can use.
"""

from __future__ import annotations

from typing import Any

from hub.provision.fields import BundleError

# Credentials that a shipped example, a default or a lazy operator would use: never in the field.
WEAK_SECRETS = (
    "change-me",
    "changeme",
    "change_me",
    "demo",
    "password",
    "passw0rd",
    "secret",
    "default",
    "example",
    "admin",
    "test",
    "123456",
    "12345678",
    "guest",
    "public",
    "mosquitto",
)


def check_credentials(data: dict[str, Any]) -> None:
    """Refuse (BundleError) broker credentials the hub must not go into the field with."""
    broker = data["broker"]
    if ("username" in broker) != ("password" in broker):
        raise BundleError("broker.password", "username and password go together; give both or neither")
    tls = broker.get("tls")
    if tls is not None and ("cert_pem" in tls) != ("key_pem" in tls):
        raise BundleError("broker.tls.key_pem", "a client certificate needs its key (cert_pem and key_pem)")
    if tls is not None and "cert_pem" in tls:
        _check_client_certificate(tls["cert_pem"])
    has_credentials = "password" in broker or (tls is not None and "key_pem" in tls)
    if not has_credentials:
        raise BundleError("broker", "no credentials: give username/password or tls cert_pem/key_pem")
    if "password" in broker and is_weak_secret(broker["password"]):
        raise BundleError(
            "broker.password",
            "a default/demo password is not allowed; ask the platform for this hub's own credentials",
        )
    if "username" in broker and broker["username"].strip().lower() in WEAK_SECRETS:
        raise BundleError("broker.username", f"{broker['username']!r} is a default/demo account")
    problem = demo_id_problem(data["hub"]["id"])
    if problem:
        raise BundleError("hub.id", problem)


def demo_id_problem(hub_id: str) -> str:
    """A demo or example id ("demo-0001" is the shipped default): two such hubs share topics and kick
    each other off the broker."""
    if hub_id.lower().startswith(("demo", "example", "test-")):
        return (f"{hub_id!r} 是演示编号 is a demo id: 请填平台给这台设备的编号 use the id the platform "
                "issued for this unit")
    return ""


def _check_client_certificate(cert_pem: str) -> None:
    """As for a rotated one (x509.check_client_leaf); a text that is not one is left to the live test."""
    from hub.certificates.x509 import CertError, check_client_pem
    try:
        check_client_pem(cert_pem)
    except CertError as exc:
        if exc.reason != "bad_certificate":
            raise BundleError("broker.tls.cert_pem", f"{exc.detail} ({exc.reason})") from None


def is_weak_secret(secret: str) -> bool:
    """A listed word, a listed word plus digits/punctuation ("demo1234", "password!"), or too few
    distinct characters ("aaaaaaaa")."""
    low = secret.strip().lower()
    if "changeme" in low.replace("-", "").replace("_", "") or len(set(low)) < 4:
        return True
    return any(low.startswith(w) and not any(c.isalpha() for c in low[len(w) :]) for w in WEAK_SECRETS)
