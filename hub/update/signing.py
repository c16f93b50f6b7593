"""What a release signature covers, and checking it.

The platform signs the UTF-8 bytes of

    eldercare-hub update v2\n
    version {version}\n
    sha256 {sha256 hex, lower case}\n
    size {bytes}\n
    downgrade-from {the one installed version it may replace, or -}\n

with its Ed25519 release key. The digest binds the artifact, the version binds its name, the size
bounds the download (an endless body stops at that many bytes), and `downgrade-from` is the only way
to install an older version (anti-rollback: an old, validly signed release cannot be replayed to put
back a version with a known flaw; a deliberate downgrade is signed for exactly one source version, so
it cannot be replayed later either). Nothing else in `cmd/update` (the URL) needs trusting. Keys are
parsed here on the stdlib alone (config validation must stay cheap); `cryptography` is imported only
to verify or sign.
"""

from __future__ import annotations

import base64
import binascii
import re

DOMAIN = "eldercare-hub update v2"
# DER SubjectPublicKeyInfo of an Ed25519 key: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (32 bytes) }
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class BadKey(ValueError):
    """A public key that cannot be used."""


class SignatureError(ValueError):
    """The signature does not verify."""


def message(version: str, sha256: str, size: int, downgrade_from: str = "") -> bytes:
    return (f"{DOMAIN}\nversion {version}\nsha256 {sha256.lower()}\nsize {size}\n"
            f"downgrade-from {downgrade_from or '-'}\n").encode()


def public_key_bytes(text: str) -> bytes:
    """The 32 raw bytes of an Ed25519 public key given as base64 or as a PEM block."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        body = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
        der = _b64(body, "PEM body")
        if len(der) != 44 or not der.startswith(_SPKI_PREFIX):
            raise BadKey("the PEM block is not an Ed25519 public key")
        return der[len(_SPKI_PREFIX):]
    raw = _b64(text, "public key")
    if len(raw) != 32:
        raise BadKey(f"the public key decodes to {len(raw)} bytes, not 32")
    return raw


def signature_bytes(text: str) -> bytes:
    try:
        raw = _b64(text, "signature")
    except BadKey as exc:
        raise SignatureError(str(exc)) from None
    if len(raw) != 64:
        raise SignatureError(f"the signature decodes to {len(raw)} bytes, not 64")
    return raw


def verify(public_key: str, version: str, sha256: str, size: int, signature: str, downgrade_from: str = "") -> None:
    """Raise SignatureError unless `signature` is the release key's over (version, sha256, size, downgrade)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(public_key_bytes(public_key))
    try:
        key.verify(signature_bytes(signature), message(version, sha256, size, downgrade_from))
    except InvalidSignature:
        raise SignatureError("the signature does not match the release key for this version, digest, size and "
                             "downgrade") from None


def sign(private_pem: bytes, version: str, sha256: str, size: int, downgrade_from: str = "") -> str:
    """Base64 signature (for the platform team's release script, never run on a hub)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise BadKey("the private key is not an Ed25519 key")
    return base64.b64encode(key.sign(message(version, sha256, size, downgrade_from))).decode()


def generate() -> tuple[bytes, str]:
    """A new release key: (private key PEM, public key base64 for `[update] public_key`)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pem, base64.b64encode(raw).decode()


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadKey(f"the {what} is not valid base64") from None
