"""Certificate checks the hub makes before using a certificate from the platform (hub.certificates.x509), the
expiry states, the key and CSR made on the device, and which pair is in use (hub.certificates.pair)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tls_pki import Ca

from hub.certificates.pair import TlsState
from hub.certificates.x509 import CertError, check_issued, expiry_state, new_key_and_csr, read_info
from hub.config.loader import Config, validate

SUBJECT = "CN=hub-0001"


def _key() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@pytest.fixture
def ca(tmp_path: Path) -> tuple[Ca, str]:
    made = Ca.make("root")
    path = tmp_path / "ca.pem"
    path.write_bytes(made.pem)
    return made, str(path)


def test_a_certificate_for_the_key_and_subject_from_the_ca_is_accepted(ca):
    root, ca_file = ca
    key, key_pem = _key()
    info = check_issued(_pem(root.issue(key.public_key(), _name("hub-0001"))), "", key_pem, ca_file, SUBJECT)
    assert info.common_name == "hub-0001" and 89 < info.days_left() <= 90


def test_an_intermediate_in_the_chain_is_followed_and_must_be_a_ca(ca):
    root, ca_file = ca
    inter_key, _ = _key()
    now = datetime.now(UTC)

    def intermediate(is_ca: bool) -> Ca:
        cert = (x509.CertificateBuilder().subject_name(_name("devices")).issuer_name(root.cert.subject)
                .public_key(inter_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
                .sign(root.key, hashes.SHA256()))
        return Ca(cert, inter_key)

    key, key_pem = _key()
    for is_ca, ok in ((True, True), (False, False)):
        inter = intermediate(is_ca)
        leaf = _pem(inter.issue(key.public_key(), _name("hub-0001")))
        if ok:
            assert check_issued(leaf, _pem(inter.cert), key_pem, ca_file, SUBJECT).issuer == "CN=devices"
            assert check_issued(leaf + _pem(inter.cert), "", key_pem, ca_file, SUBJECT)  # chain in cert_pem
        else:
            with pytest.raises(CertError) as refused:
                check_issued(leaf, _pem(inter.cert), key_pem, ca_file, SUBJECT)
            assert refused.value.reason == "untrusted_issuer"
    with pytest.raises(CertError) as refused:  # the intermediate left out
        check_issued(_pem(intermediate(True).issue(key.public_key(), _name("hub-0001"))), "", key_pem, ca_file,
                     SUBJECT)
    assert refused.value.reason == "untrusted_issuer"


def _signed(root: Ca, public_key, subject: x509.Name, start: timedelta, end: timedelta,  # type: ignore[no-untyped-def]
            usage: list | None = None) -> str:
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(root.cert.subject)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now + start).not_valid_after(now + end))
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return _pem(builder.sign(root.key, hashes.SHA256()))


@pytest.mark.parametrize(("why", "reason"), [
    ("another key", "key_mismatch"), ("another subject", "subject_mismatch"), ("expired", "expired"),
    ("not yet valid", "not_yet_valid"), ("server only", "not_client_auth"), ("another CA", "untrusted_issuer"),
    ("not PEM", "bad_certificate"),
])
def test_what_the_hub_refuses(ca, why, reason):
    root, ca_file = ca
    key, key_pem = _key()
    pub, day = key.public_key(), timedelta(days=1)
    pem = {
        "another key": lambda: _signed(root, _key()[0].public_key(), _name("hub-0001"), -day, day),
        "another subject": lambda: _signed(root, pub, _name("hub-0002"), -day, day),
        "expired": lambda: _signed(root, pub, _name("hub-0001"), -2 * day, -day),
        "not yet valid": lambda: _signed(root, pub, _name("hub-0001"), day, 2 * day),
        "server only": lambda: _signed(root, pub, _name("hub-0001"), -day, day, [ExtendedKeyUsageOID.SERVER_AUTH]),
        "another CA": lambda: _signed(Ca.make("root"), pub, _name("hub-0001"), -day, day),
        "not PEM": lambda: "hello",
    }[why]()
    with pytest.raises(CertError) as refused:
        check_issued(pem, "", key_pem, ca_file, SUBJECT)
    assert refused.value.reason == reason


def test_expiry_states():
    assert [expiry_state(d, 30, 7) for d in (90, 30, 8, 7, 0.5, 0, -3)] == [
        "ok", "expiring", "expiring", "expires_soon", "expires_soon", "expired", "expired"]


def test_the_key_stays_here_and_the_csr_asks_for_the_current_subject(tmp_path, ca):
    root, _ = ca
    current = tmp_path / "client.pem"
    key, _ = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Community 7"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "hub-0001")])
    current.write_text(_pem(root.issue(key.public_key(), subject)))
    key_pem, csr_pem, asked = new_key_and_csr(current, "ignored")
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert csr.is_signature_valid and csr.subject == subject and asked == subject.rfc4514_string()
    new_key = serialization.load_pem_private_key(key_pem, None)
    assert isinstance(new_key, ec.EllipticCurvePrivateKey) and new_key.curve.name == "secp256r1"
    assert csr.public_key() == new_key.public_key()
    assert new_key_and_csr(tmp_path / "missing.pem", "hub-0009")[2] == "CN=hub-0009"


def _config(tmp_path: Path, cert: Path, key: Path) -> Config:
    raw = {"hub": {"id": "hub-0001", "state_dir": str(tmp_path / "state")},
           "mqtt": {"tls": {"ca": str(tmp_path / "ca.pem"), "cert": str(cert), "key": str(key)}}}
    return Config(tmp_path / "hub.toml", validate(raw))


def test_the_rotated_pair_is_used_until_the_unit_is_provisioned_again(tmp_path, ca):
    root, _ = ca
    provisioned = root.client(tmp_path, "hub-0001")
    config = _config(tmp_path, *provisioned)
    state = TlsState(config)
    assert state.current() == tuple(map(str, provisioned))
    rotated = state.pair_dir("r1")
    rotated.mkdir(parents=True)
    (rotated / "cert.pem").write_bytes(Path(provisioned[0]).read_bytes())
    (rotated / "key.pem").write_bytes(Path(provisioned[1]).read_bytes())
    assert state.promote("r1") is None
    state.save()
    assert TlsState(config).current() == (str(rotated / "cert.pem"), str(rotated / "key.pem"))
    # The installer provisions the unit again: the new provisioned certificate wins.
    root.client(tmp_path, "hub-0001")
    assert TlsState(config).current() == tuple(map(str, provisioned))


def test_an_unreadable_state_file_falls_back_to_the_provisioned_pair(tmp_path, ca):
    root, _ = ca
    provisioned = root.client(tmp_path, "hub-0001")
    config = _config(tmp_path, *provisioned)
    (tmp_path / "state" / "tls").mkdir(parents=True)
    (tmp_path / "state" / "tls" / "state.json").write_text("{not json")
    assert TlsState(config).current() == tuple(map(str, provisioned))
    assert read_info(provisioned[0]).subject == "CN=hub-0001"
    assert json.loads(json.dumps(read_info(provisioned[0]).as_dict()))["days_left"] > 89
