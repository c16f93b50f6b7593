"""One release: its description (the body of `cmd/update`, or the JSON beside a file for
`hub update --from`), checked at the edge, and the verification of an artifact against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.update.signing import SHA256_RE, VERSION_RE, BadKey, SignatureError, verify


class UpdateError(RuntimeError):
    """Why an update stops, in words for the platform's operator and the technician."""


@dataclass(frozen=True)
class Release:
    version: str
    sha256: str
    signature: str
    url: str = ""

    @classmethod
    def parse(cls, body: dict[str, Any], need_url: bool) -> Release:
        for key in ("version", "sha256", "signature", *(("url",) if need_url else ())):
            if not isinstance(body.get(key), str) or not body[key]:
                raise UpdateError(f"'{key}' missing or not a string")
        if not VERSION_RE.match(body["version"]):
            raise UpdateError(f"version {body['version']!r} is not a release version (e.g. 0.2.0)")
        if not SHA256_RE.match(body["sha256"]):
            raise UpdateError("sha256 must be 64 lower-case hex digits")
        if need_url and not body["url"].startswith("https://"):
            raise UpdateError(f"url {body['url']!r} is not https://")
        return cls(body["version"], body["sha256"], body["signature"], body.get("url", ""))

    @classmethod
    def load(cls, path: Path) -> Release:
        try:
            body = json.loads(path.read_text())
        except FileNotFoundError:
            raise UpdateError(f"{path}: not found (the release file `hub update sign` wrote)") from None
        except ValueError as exc:
            raise UpdateError(f"{path}: not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise UpdateError(f"{path}: not a JSON object")
        return cls.parse(body, need_url=False)

    def check(self, artifact: Path, public_key: str) -> None:
        """Digest, then signature, then that the wheel is the version it claims: UpdateError if not."""
        from hub.update.download import sha256_of  # urllib and zipfile: loaded only for an update
        from hub.update.install import wheel_version

        if not public_key:
            raise UpdateError("no release key: [update] public_key is empty in the config, so no update "
                              "can be verified (docs/fleet.md)")
        digest = sha256_of(artifact)
        if digest != self.sha256:
            raise UpdateError(f"sha256 mismatch: the file is {digest}, the release says {self.sha256}")
        try:
            verify(public_key, self.version, self.sha256, self.signature)
        except (SignatureError, BadKey) as exc:
            raise UpdateError(f"bad signature: {exc}") from None
        try:
            inside = wheel_version(artifact)
        except RuntimeError as exc:
            raise UpdateError(str(exc)) from None
        if inside != self.version:
            raise UpdateError(f"the wheel is version {inside}, the signed release says {self.version}")
