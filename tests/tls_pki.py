"""A test PKI made with `cryptography` (CAs, the broker's server certificate, client certificates, CSRs
signed as a platform would) and a mosquitto that requires client certificates, takes the certificate's
CN as the username and applies an ACL file that can be rewritten and reloaded (SIGHUP)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from support import PREFIX, Broker, free_port

# What one hub may do, by the CN of its certificate (docs/fleet.md): its own tree, nothing else.
HUB_ACL = (f"pattern write {PREFIX}/%u/event/#\npattern write {PREFIX}/%u/status\n"
           f"pattern read {PREFIX}/%u/cmd/#\npattern readwrite {PREFIX}/%u/selftest/#\n"
           f"pattern read {PREFIX}/%u/config/desired\npattern write {PREFIX}/%u/config/reported\n")
PLATFORM_ACL = f"user platform\ntopic readwrite {PREFIX}/#\n\n"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass
class Ca:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def make(cls, cn: str) -> Ca:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(cert, key)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, public_key: Any, subject: x509.Name, days: float = 90, server: bool = False) -> x509.Certificate:
        now = datetime.now(UTC)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.cert.subject)
                   .public_key(public_key).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                         else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def sign_csr(self, csr_pem: str, days: float = 90) -> str:
        """What the platform does with a hub's cert.csr."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        assert csr.is_signature_valid
        return self.issue(csr.public_key(), csr.subject, days).public_bytes(serialization.Encoding.PEM).decode()

    def client(self, folder: Path, cn: str, days: float = 90) -> tuple[Path, Path]:
        """A key and certificate for `cn`, written as folder/{cn}.pem and folder/{cn}.key."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.issue(key.public_key(), _name(cn), days)
        paths = folder / f"{cn}.pem", folder / f"{cn}.key"
        paths[0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[1].write_bytes(_pem_key(key))
        return paths


class TlsBroker(Broker):
    """mosquitto on a TLS listener: client certificates from `ca` required, CN = username, ACL file."""

    def __init__(self, root: Path, ca: Ca, acl: str) -> None:
        port = free_port()
        self.ca = ca
        self.ca_file = root / "ca.pem"
        self.ca_file.write_bytes(ca.pem)
        server_key = ec.generate_private_key(ec.SECP256R1())
        (root / "server.pem").write_bytes(ca.issue(server_key.public_key(), _name("localhost"), server=True)
                                          .public_bytes(serialization.Encoding.PEM))
        (root / "server.key").write_bytes(_pem_key(server_key))
        self.acl = root / "acl"
        self.acl.write_text(acl)
        super().__init__(root, port=port, extra_conf=(
            f"listener {port} 127.0.0.1\ncafile {self.ca_file}\ncertfile {root / 'server.pem'}\n"
            f"keyfile {root / 'server.key'}\nrequire_certificate true\nuse_identity_as_username true\n"
            f"allow_anonymous false\nacl_file {self.acl}\n"))

    def reload(self, acl: str) -> None:
        self.acl.write_text(acl)
        assert self.proc is not None
        self.proc.send_signal(1)  # SIGHUP: mosquitto re-reads the ACL file

    def client_tls(self, cert: Path, key: Path) -> dict[str, Any]:
        """Subscriber(tls=...) arguments for a client presenting cert/key."""
        return {"ca_certs": str(self.ca_file), "certfile": str(cert), "keyfile": str(key)}


def tls_mqtt_extra(ca_file: Path, cert: Path, key: Path) -> str:
    """write_config(mqtt_extra=...) for a hub presenting cert/key."""
    return f'\n[mqtt.tls]\nca = "{ca_file}"\ncert = "{cert}"\nkey = "{key}"\n'


def tls_setup(root: Path, acl: str, hub_cn: str) -> tuple[TlsBroker, dict[str, Any], str]:
    """A started TlsBroker with `acl`, and for a hub whose certificate has CN `hub_cn`: the platform
    subscriber's Subscriber(**kwargs) and the hub's write_config(mqtt_extra=...)."""
    ca = Ca.make("test platform CA")
    broker = TlsBroker(root, ca, acl).start()
    keys = root / "keys"
    keys.mkdir()
    hub_pair = ca.client(keys, hub_cn)
    return broker, {"tls": broker.client_tls(*ca.client(keys, "platform"))}, tls_mqtt_extra(broker.ca_file, *hub_pair)
