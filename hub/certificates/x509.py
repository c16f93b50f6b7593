"""X.509 for the hub's broker identity: what a certificate says (subject, issuer, expiry), a new key and
CSR made on the device, and the checks a certificate from the platform must pass before it is used.

The `cryptography` package is imported on first use only: a hub without TLS client certificates never
loads it (the memory budget, docs/architecture.md). Blocking file reads: call from a thread.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.certificates.der import first_pem_der, read_der
from hub.certificates.pair import client_pair
from hub.config.loader import Config

MAX_CHAIN = 5  # intermediates followed from the leaf to the configured CA


class CertError(Exception):
    """A certificate cannot be used. `reason` is the word events carry; the message is for people."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class CertInfo:
    subject: str
    issuer: str
    serial: str  # hex
    not_before: datetime
    not_after: datetime
    common_name: str

    def days_left(self, now: datetime | None = None) -> float:
        return (self.not_after - (now or datetime.now(UTC))).total_seconds() / 86400.0

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {"subject": self.subject, "issuer": self.issuer, "serial": self.serial,
                "not_after": self.not_after.isoformat(timespec="seconds"),
                "days_left": round(self.days_left(now), 1)}


def expiry_state(days_left: float, warn_days: float, fault_days: float) -> str:
    """'ok', 'expiring' (within warn_days: renew soon), 'expires_soon' (within fault_days) or 'expired'."""
    if days_left <= 0:
        return "expired"
    if days_left <= fault_days:
        return "expires_soon"
    return "expiring" if days_left <= warn_days else "ok"


def _info(cert: Any) -> CertInfo:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertInfo(subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
                    serial=f"{cert.serial_number:x}", not_before=cert.not_valid_before_utc,
                    not_after=cert.not_valid_after_utc, common_name=str(names[0].value) if names else "")


def _load_many(data: bytes, what: str) -> list[Any]:
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertError("bad_certificate", f"{what} is not a PEM certificate ({exc})") from None
    return certs


def read_info(path: str | Path) -> CertInfo:
    """The first certificate in a PEM file, read without `cryptography` (hub.certificates.der: status and
    device health read it on every hub with TLS). Raises OSError, or CertError when it is not one."""
    try:
        der = read_der(first_pem_der(Path(path).read_bytes()))
    except ValueError as exc:
        raise CertError("bad_certificate", f"{path} is not a PEM certificate ({exc})") from None
    return CertInfo(subject=der.subject, issuer=der.issuer, serial=f"{der.serial:x}", not_before=der.not_before,
                    not_after=der.not_after, common_name=der.common_name)



def new_key_and_csr(subject_of: str | Path | None, common_name: str,
                    key_type: str = "ec-p256") -> tuple[bytes, str, str]:
    """A new private key (PKCS#8 PEM, unencrypted: it never leaves the device) and a CSR for it. EC P-256
    is accepted by every broker and cloud IoT service; Ed25519 by mosquitto/OpenSSL (TLS 1.2 and 1.3).

    The CSR asks for the subject of the certificate in `subject_of` (the one in use), else CN=common_name.
    Returns (key PEM, CSR PEM, subject as RFC 4514)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.x509.oid import NameOID

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    if subject_of is not None:
        # Unreadable: the CN alone is what the broker maps to the hub's identity.
        with contextlib.suppress(OSError, CertError):
            subject = _load_many(Path(subject_of).read_bytes(), str(subject_of))[0].subject
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if key_type == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        csr = builder.sign(key, None)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        csr = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode(), subject.rfc4514_string()


def check_issued(cert_pem: str, chain_pem: str, key_pem: bytes, ca_file: str | None, subject: str,
                 now: datetime | None = None) -> CertInfo:
    """Accept the platform's certificate for the key made here only if it is for that key and that
    subject, valid now, meant for client authentication, and chains to the CA in `ca_file` (through the
    intermediates in `chain_pem`). Raises CertError naming what is wrong."""
    from cryptography.hazmat.primitives import serialization

    now = now or datetime.now(UTC)
    leaf, *extra = _load_many(cert_pem.encode(), "cert_pem")
    intermediates = extra + (_load_many(chain_pem.encode(), "chain_pem") if chain_pem.strip() else [])
    key = serialization.load_pem_private_key(key_pem, password=None)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise CertError("key_mismatch", "the certificate is not for the key this hub made for the request")
    info = _info(leaf)
    if info.subject != subject:
        raise CertError("subject_mismatch", f"the certificate is for {info.subject}, the request was for {subject}")
    check_client_leaf(leaf)
    if ca_file is None:
        raise CertError("no_ca", "[mqtt.tls] ca is not set: nothing to check the certificate against")
    try:
        anchors = _load_many(Path(ca_file).read_bytes(), ca_file)
    except OSError as exc:
        raise CertError("no_ca", f"cannot read the CA file {ca_file}: {exc.strerror}") from None
    _valid_now(leaf, "the certificate", now)
    _chain(leaf, intermediates, anchors, now)
    return info


def check_client_leaf(leaf: Any) -> None:
    """A client certificate the hub presents must be an end entity that may sign a TLS handshake for a
    client: not a CA (basicConstraints CA:TRUE: whoever holds its key could mint certificates), key usage
    with digitalSignature, extended key usage with clientAuth. An extension that is absent does not
    restrict (RFC 5280 4.2.1.3, 4.2.1.12, as OpenSSL verifies). Raises CertError naming what is wrong."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if _is_ca(leaf):
        raise CertError("is_ca", "the certificate is a CA certificate (basicConstraints CA:TRUE): a client "
                                 "certificate must not be able to issue others; ask the platform for an end-entity "
                                 "certificate")
    try:
        if not leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            raise CertError("no_digital_signature", "the certificate's key usage does not allow digitalSignature, "
                                                    "which a TLS client needs to prove it holds the key")
    except x509.ExtensionNotFound:
        pass  # no key usage: any use
    try:
        usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH not in usage:
            raise CertError("not_client_auth", "the certificate's extended key usage does not allow TLS client "
                                               "authentication (clientAuth)")
    except x509.ExtensionNotFound:
        pass  # no EKU: any use


def check_client_pem(cert_pem: str | bytes) -> None:
    """check_client_leaf on the first certificate of a PEM text (provisioning, `hub config check`)."""
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    check_client_leaf(_load_many(data, "the client certificate")[0])


def _valid_now(cert: Any, what: str, now: datetime) -> None:
    if now < cert.not_valid_before_utc:
        raise CertError("not_yet_valid", f"{what} is valid only from {cert.not_valid_before_utc.isoformat()} "
                                         "(check the hub's clock and the platform's)")
    if now > cert.not_valid_after_utc:
        raise CertError("expired", f"{what} expired on {cert.not_valid_after_utc.isoformat()}")


def _issued_by(cert: Any, issuer: Any) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: Any) -> bool:
    from cryptography import x509

    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _chain(leaf: Any, intermediates: list[Any], anchors: list[Any], now: datetime) -> None:
    current = leaf
    for _ in range(MAX_CHAIN + 1):
        if any(_issued_by(current, anchor) for anchor in anchors):
            return
        issuer = next((c for c in intermediates if _is_ca(c) and _issued_by(current, c)), None)
        if issuer is None:
            break
        _valid_now(issuer, f"the intermediate {issuer.subject.rfc4514_string()}", now)
        current = issuer
    raise CertError("untrusted_issuer", f"the certificate (issuer {leaf.issuer.rfc4514_string()}) does not chain "
                                        "to the CA in [mqtt.tls] ca")


def remedy(state: str, days_left: float, path: str) -> str:
    """What the technician or the platform does about a certificate in `state`."""
    if state == "expired":
        return (f"证书已过期，无法连接平台：请用平台的新证书重新配置 (hub provision --bundle) / the client "
                f"certificate {path} has expired and the broker will refuse it: re-provision the unit with a new "
                "certificate from the platform (hub provision --bundle), or copy a new certificate and key to "
                "[mqtt.tls] cert / key")
    return (f"证书 {days_left:.0f} 天后过期：请平台下发 cmd/rotate_cert 更换 / the client certificate {path} "
            f"expires in {days_left:.0f} days: have the platform send cmd/rotate_cert (docs/fleet.md), or "
            "re-provision the unit (hub provision --bundle)")


def describe(config: Config, now: datetime | None = None) -> dict[str, Any] | None:
    """The certificate in use, for status, device health and the self-test (None: no client
    certificate), judged at `now` (the hub's clock; default the system's). Blocking: call from a thread."""
    if not config["mqtt"].get("tls"):
        return None
    pair = client_pair(config)
    if pair is None:
        return None
    certs = config["certificates"]
    try:
        info = read_info(pair[0])
    except (OSError, CertError) as exc:
        return {"path": pair[0], "state": "unreadable", "detail": str(exc)}
    days = info.days_left(now)
    state = expiry_state(days, certs["warn_days"], certs["fault_days"])
    out = {"path": pair[0], "state": state, **info.as_dict(now)}
    if state != "ok":
        out["remedy"] = remedy(state, days, pair[0])
    return out
