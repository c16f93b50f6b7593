"""Certificates the hub must not present (issue 21 item 7): a CA certificate (CA:TRUE) or a leaf whose key
usage leaves out digitalSignature or whose extended key usage leaves out clientAuth, refused at rotation
(cmd/install_cert) and in a provisioning bundle; and the expiry judged again right after a clock step, so a
false `fault.certificate` expired clears at once (a real mosquitto with TLS client certificates)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from schemas import assert_valid
from support import wait_online
from test_certs_e2e import HUB, Pki
from test_provision_bundle import sample
from tls_pki import Ca

from hub.certificates.x509 import CertError, check_issued
from hub.provision.bundle import BundleError, check

pytestmark = pytest.mark.timeout(180)

TEN_YEARS_S = 10 * 365 * 86400


def _leaf(root: Ca, public_key: Any, *, is_ca: bool | None = False, digital_signature: bool | None = True,
          client_auth: bool | None = True, subject: x509.Name | None = None) -> str:
    """A certificate for `public_key`; None leaves that extension out."""
    now = datetime.now(UTC)
    subject = subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub-0001")])
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(root.cert.subject).public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=90)))
    if is_ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    if digital_signature is not None:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=digital_signature, content_commitment=False, key_encipherment=not digital_signature,
            data_encipherment=False, key_agreement=False, key_cert_sign=bool(is_ca), crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
    if client_auth is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.CLIENT_AUTH if client_auth else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(root.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def root(tmp_path: Path) -> tuple[Ca, str]:
    made = Ca.make("root")
    (tmp_path / "ca.pem").write_bytes(made.pem)
    return made, str(tmp_path / "ca.pem")


def _key() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())


@pytest.mark.parametrize(("shape", "reason"), [
    ({"is_ca": True}, "is_ca"),
    ({"digital_signature": False}, "no_digital_signature"),
    ({"client_auth": False}, "not_client_auth"),
])
def test_a_certificate_a_client_must_not_present_is_refused_at_rotation(root, shape, reason):
    ca, ca_file = root
    key, key_pem = _key()
    with pytest.raises(CertError) as refused:
        check_issued(_leaf(ca, key.public_key(), **shape), "", key_pem, ca_file, "CN=hub-0001")
    assert refused.value.reason == reason


@pytest.mark.parametrize("shape", [{}, {"is_ca": None, "digital_signature": None, "client_auth": None}])
def test_an_end_entity_for_a_client_is_accepted(root, shape):
    """With the usages, or without the extensions at all (they do not restrict then: RFC 5280)."""
    ca, ca_file = root
    key, key_pem = _key()
    assert check_issued(_leaf(ca, key.public_key(), **shape), "", key_pem, ca_file, "CN=hub-0001").common_name == \
        "hub-0001"


@pytest.mark.parametrize(("shape", "reason"), [({"is_ca": True}, "is_ca"),
                                               ({"digital_signature": False}, "no_digital_signature")])
def test_a_provisioning_bundle_with_such_a_certificate_is_refused(root, shape, reason):
    ca, _ = root
    key, key_pem = _key()
    data = sample()
    del data["broker"]["username"], data["broker"]["password"]
    data["broker"]["tls"] = {"ca_pem": ca.pem.decode(), "cert_pem": _leaf(ca, key.public_key(), **shape),
                             "key_pem": key_pem.decode()}
    with pytest.raises(BundleError) as refused:
        check(data)
    assert refused.value.field == "broker.tls.cert_pem" and reason in str(refused.value)
    data["broker"]["tls"]["cert_pem"] = _leaf(ca, key.public_key())
    check(data)  # the same bundle with an end-entity certificate passes


def test_the_installed_certificate_is_not_replaced_by_a_ca_certificate(tmp_path):
    """cmd/install_cert with a CA:TRUE certificate for the requested key: refused, the old pair kept."""
    pki = Pki(tmp_path)
    hub = pki.hub(tmp_path)
    try:
        hub.start()
        # Ready (the control socket) is not subscribed: a command sent before the hub's SUBSCRIBE is lost.
        assert wait_online(pki.sub, HUB), hub.log_tail()
        pki.command("rotate_cert", {"request_id": "ca-1"})
        csr = pki.sub.wait_event("cert.csr", 15, request_id="ca-1")
        assert csr is not None, hub.log_tail()
        request = x509.load_pem_x509_csr(csr["data"]["csr_pem"].encode())
        pki.command("install_cert", {"request_id": "ca-1", "cert_pem": _leaf(pki.ca, request.public_key(), is_ca=True,
                                                                               subject=request.subject)})
        failed = pki.sub.wait_event("cert.rotation_failed", 15, request_id="ca-1")
        assert failed is not None, hub.log_tail()
        assert_valid(failed)
        assert failed["data"]["stage"] == "check" and failed["data"]["reason"] == "is_ca"
        assert pki.sub.wait_event("cert.rotated", 1) is None
    finally:
        hub.stop()
        pki.close()


def test_a_false_expiry_after_a_clock_step_clears_at_once(tmp_path):
    """+10 years (a wrong RTC), then corrected: the fault comes and goes with the clock, not an hour later."""
    pki = Pki(tmp_path)
    hub = pki.hub(tmp_path)
    try:
        hub.start()
        assert hub.status()["certificate"]["state"] == "ok"
        hub.sim("clock-step", str(TEN_YEARS_S))
        fault = pki.sub.wait_event("fault.certificate", 15)
        assert fault is not None, hub.log_tail()
        assert fault["data"]["state"] == "expired"
        hub.sim("clock-step", str(-TEN_YEARS_S))
        cleared = pki.sub.wait_event("fault.cleared", 15, component="certificate")
        assert cleared is not None, hub.log_tail()  # the check interval is an hour: this is the step's re-check
        assert cleared["data"]["fault_id"] == fault["id"] and cleared["data"]["kind"] == "expired"
        assert hub.status()["certificate"]["state"] == "ok"
        assert json.dumps(hub.status()["certificate"]).count("expired") == 0
    finally:
        hub.stop()
        pki.close()
