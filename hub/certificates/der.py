"""What a PEM certificate says — subject, issuer, serial, validity — read in plain Python from its DER.

Every hub with a TLS client certificate reads its expiry for status and device health; loading the
`cryptography` package for that costs about 10 MB of a 45 MB budget for the life of the process. The
few fields needed sit at fixed places in the TBSCertificate (RFC 5280 §4.1), so a small DER walker does
it; `cryptography` is still what makes keys and checks certificates (hub.certificates.x509), and the tests
compare this reader with it. Pure: bytes in, fields out; ValueError on anything malformed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import NamedTuple

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.DOTALL)
# The short names RFC 4514 (and `cryptography`'s rfc4514_string) use; any other attribute is OID=#hex.
_NAMES = {"2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
          "2.5.4.6": "C", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
          "0.9.2342.19200300.100.1.1": "UID"}
_STRINGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be", 0x1C: "utf-32-be"}


class DerCert(NamedTuple):
    subject: str  # RFC 4514, most significant RDN last, as `cryptography` prints it
    issuer: str
    serial: int
    not_before: datetime
    not_after: datetime
    common_name: str


def first_pem_der(data: bytes) -> bytes:
    match = _PEM.search(data)
    if match is None:
        raise ValueError("no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
    try:
        return base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the PEM certificate is not base64 ({exc})") from None


def read_der(der: bytes) -> DerCert:
    tag, start, end = _tlv(der, 0)
    _expect(tag, 0x30, "Certificate")
    tag, start, end = _tlv(der, start)
    _expect(tag, 0x30, "TBSCertificate")
    fields = list(_children(der, start, end))
    if fields and fields[0][0] == 0xA0:  # [0] version: absent in v1
        fields = fields[1:]
    if len(fields) < 5:
        raise ValueError("TBSCertificate is too short")
    (serial_tag, s0, s1), _alg, issuer, validity, subject = fields[:5]
    _expect(serial_tag, 0x02, "serialNumber")
    times = list(_children(der, validity[1], validity[2]))
    if len(times) != 2:
        raise ValueError("validity must hold two times")
    subject_rdns = _name(der, subject)
    return DerCert(
        subject=_rfc4514(subject_rdns), issuer=_rfc4514(_name(der, issuer)),
        serial=int.from_bytes(der[s0:s1], "big", signed=True),
        not_before=_time(der, times[0]), not_after=_time(der, times[1]),
        common_name=_unescape(next((v for rdn in subject_rdns for k, v in rdn if k == "CN"), "")))


def _expect(tag: int, want: int, what: str) -> None:
    if tag != want:
        raise ValueError(f"{what}: DER tag 0x{tag:02x}, expected 0x{want:02x}")


def _tlv(der: bytes, i: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at i."""
    if i + 2 > len(der):
        raise ValueError("DER ends inside a header")
    tag, first = der[i], der[i + 1]
    if first < 0x80:
        start, length = i + 2, first
    else:
        n = first & 0x7F
        if not 1 <= n <= 4 or i + 2 + n > len(der):
            raise ValueError("DER length is malformed")
        start, length = i + 2 + n, int.from_bytes(der[i + 2:i + 2 + n], "big")
    if start + length > len(der):
        raise ValueError("DER element runs past the end")
    return tag, start, start + length


def _children(der: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """The elements inside [start, end) as (tag, content start, content end)."""
    i = start
    while i < end:
        tag, s, e = _tlv(der, i)
        if e > end:
            raise ValueError("DER element runs past its parent")
        yield tag, s, e
        i = e


def _oid(body: bytes) -> str:
    if not body:
        raise ValueError("empty OID")
    parts, value = [min(body[0] // 40, 2), body[0] - 40 * min(body[0] // 40, 2)], 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def _name(der: bytes, name: tuple[int, int, int]) -> list[list[tuple[str, str]]]:
    _expect(name[0], 0x30, "Name")
    rdns = []
    for set_tag, s0, s1 in _children(der, name[1], name[2]):
        _expect(set_tag, 0x31, "RelativeDistinguishedName")
        rdn = []
        for _seq, a0, _end in _children(der, s0, s1):
            oid_tag, o0, o1 = _tlv(der, a0)
            _expect(oid_tag, 0x06, "attribute type")
            vtag, v0, v1 = _tlv(der, o1)  # the value's header starts where the OID ends
            oid = _oid(der[o0:o1])
            key = _NAMES.get(oid, oid)  # a type without a short name goes by its dotted OID
            if vtag in _STRINGS:
                rdn.append((key, _escape(der[v0:v1].decode(_STRINGS[vtag], errors="replace"))))
            else:  # RFC 4514 §2.4: a value that is not a string as its whole DER in hex
                rdn.append((key, "#" + der[o1:v1].hex()))
        rdns.append(rdn)
    return rdns


def _escape(value: str) -> str:
    out = "".join("\\" + c if c in ',+"\\<>;' else c for c in value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    return out[:-1] + "\\ " if out.endswith(" ") else out


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _rfc4514(rdns: list[list[tuple[str, str]]]) -> str:
    return ",".join("+".join(f"{k}={v}" for k, v in rdn) for rdn in reversed(rdns))


def _time(der: bytes, element: tuple[int, int, int]) -> datetime:
    tag, s, e = element
    text = der[s:e].decode("ascii", errors="replace")
    if tag == 0x17 and len(text) == 13:  # UTCTime YYMMDDHHMMSSZ; RFC 5280: YY < 50 is 20YY
        year = int(text[:2])
        text = f"{2000 + year if year < 50 else 1900 + year}{text[2:]}"
    elif tag != 0x18 or len(text) != 15:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError(f"validity time {text!r} is not UTCTime/GeneralizedTime in Z form")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
