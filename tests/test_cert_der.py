"""hub.certificates.der reads subject, issuer, serial and validity in plain Python; `cryptography` is the
reference it must agree with, over certificates with the names, times and serials brokers meet."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.certificates.der import first_pem_der, read_der
from hub.certificates.x509 import CertError, read_info

KEY = ec.generate_private_key(ec.SECP256R1())


def _cert(subject: list[x509.NameAttribute], serial: int, start: datetime, end: datetime) -> x509.Certificate:
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Community Care CA"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "朝阳区养老服务中心")])
    return (x509.CertificateBuilder().subject_name(x509.Name(subject)).issuer_name(issuer)
            .public_key(KEY.public_key()).serial_number(serial).not_valid_before(start).not_valid_after(end)
            .sign(KEY, hashes.SHA256()))


A = NameOID
CASES = {
    "plain": ([x509.NameAttribute(A.COMMON_NAME, "hub-0001")], 1),
    "org and country": ([x509.NameAttribute(A.COUNTRY_NAME, "CN"), x509.NameAttribute(A.ORGANIZATION_NAME, "Eldercare"),
                         x509.NameAttribute(A.ORGANIZATIONAL_UNIT_NAME, "Pilot 2026"),
                         x509.NameAttribute(A.COMMON_NAME, "hub-0002")], 2**159 - 1),
    "characters to escape": ([x509.NameAttribute(A.COMMON_NAME, "hub, #3 + \"x\" <y>;\\ ")], 0x1234ABCD),
    "Chinese": ([x509.NameAttribute(A.COMMON_NAME, "朝阳-居家-0004"), x509.NameAttribute(A.LOCALITY_NAME, "北京")], 4),
    "unknown attribute": ([x509.NameAttribute(A.EMAIL_ADDRESS, "ops@example.org"),
                           x509.NameAttribute(A.COMMON_NAME, "hub-0005")], 5),
}
TIMES = {  # UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5)
    "utctime": (datetime(2026, 11, 30, 4, 0, tzinfo=UTC), datetime(2027, 11, 30, 4, 0, tzinfo=UTC)),
    "generalized": (datetime(2049, 1, 1, tzinfo=UTC), datetime(2051, 6, 30, 23, 59, 59, tzinfo=UTC)),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("times", TIMES)
def test_the_plain_reader_agrees_with_cryptography(name: str, times: str) -> None:
    subject, serial = CASES[name]
    cert = _cert(subject, serial, *TIMES[times])
    got = read_der(cert.public_bytes(serialization.Encoding.DER))
    assert got.subject == cert.subject.rfc4514_string()
    assert got.issuer == cert.issuer.rfc4514_string()
    assert got.serial == cert.serial_number
    assert (got.not_before, got.not_after) == (cert.not_valid_before_utc, cert.not_valid_after_utc)
    cns = cert.subject.get_attributes_for_oid(A.COMMON_NAME)
    assert got.common_name == (cns[0].value if cns else "")


def test_read_info_takes_the_first_certificate_of_a_chain_file(tmp_path) -> None:
    leaf = _cert(CASES["plain"][0], 7, *TIMES["utctime"])
    other = _cert(CASES["Chinese"][0], 8, *TIMES["utctime"])
    path = tmp_path / "chain.pem"
    path.write_bytes(b"junk before\n" + leaf.public_bytes(serialization.Encoding.PEM)
                     + other.public_bytes(serialization.Encoding.PEM))
    info = read_info(path)
    assert (info.common_name, info.serial, info.not_after) == ("hub-0001", "7", TIMES["utctime"][1])


@pytest.mark.parametrize("data", [
    b"", b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",  # an empty SEQUENCE
    b"-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n",  # a length past the end
])
def test_what_is_not_a_certificate_is_named_not_raised_as_something_else(tmp_path, data: bytes) -> None:
    path = tmp_path / "client.crt"
    path.write_bytes(data)
    with pytest.raises(CertError, match=r"client\.crt is not a PEM certificate"):
        read_info(path)


def test_every_truncation_of_a_real_certificate_is_a_value_error() -> None:
    der = _cert(CASES["org and country"][0], 99, *TIMES["utctime"]).public_bytes(serialization.Encoding.DER)
    assert read_der(der).serial == 99
    for cut in range(len(der)):
        with pytest.raises(ValueError):
            read_der(der[:cut])
    assert first_pem_der(b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----") == b"0\x00"
