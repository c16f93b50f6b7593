"""One release: its description (the body of `cmd/update`, or the JSON beside a file for
`hub update --from`), checked at the edge, the anti-rollback rule, and the verification of an
artifact against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.update.signing import SHA256_RE, BadKey, SignatureError, verify
from hub.update.versions import compare, is_version

MAX_SIZE = 64 * 1024 * 1024  # a wheel of this project is well under 1 MB; a declared size above this is refused


class UpdateError(RuntimeError):
    """Why an update stops, in words for the platform's operator and the technician; `remedy`: what the
    technician at the unit does about it (`hub update --from` prints it), where there is something to do."""

    def __init__(self, reason: str, remedy: str = "") -> None:
        super().__init__(reason)
        self.remedy = remedy


SPOILT = ("文件不完整或被改动：重新拷贝这个版本（.whl 与 .release.json 一起）/ the file is incomplete or altered: "
          "copy the release again (the .whl with its .release.json)")
OTHER_KEY = ("签名与本机的发布密钥不符：向平台团队要这个版本的 .release.json，或核对配置中的 [update] public_key / "
             "not signed with this unit's release key: get this version's .release.json from the platform team, "
             "or check [update] public_key in the config")


@dataclass(frozen=True)
class Release:
    version: str
    sha256: str
    signature: str
    size: int
    url: str = ""
    downgrade_from: str = ""  # signed: the one installed version this older release may replace

    @classmethod
    def parse(cls, body: dict[str, Any], need_url: bool) -> Release:
        for key in ("version", "sha256", "signature", *(("url",) if need_url else ())):
            if not isinstance(body.get(key), str) or not body[key]:
                raise UpdateError(f"'{key}' missing or not a string")
        if not is_version(body["version"]):
            raise UpdateError(f"version {body['version'][:40]!r} is not a release version (e.g. 0.2.0)")
        if not SHA256_RE.match(body["sha256"]):
            raise UpdateError("sha256 must be 64 lower-case hex digits")
        size = body.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_SIZE:
            raise UpdateError(f"'size' must be the artifact's length in bytes, 1 to {MAX_SIZE} (signed with it: "
                              "re-sign the release with this `hub update sign`)")
        down = body.get("downgrade_from", "")
        if down is None:
            down = ""
        if not isinstance(down, str) or (down and not is_version(down)):
            raise UpdateError("'downgrade_from' must be the release version this downgrade replaces")
        if need_url and not body["url"].startswith("https://"):
            raise UpdateError(f"url {body['url'][:200]!r} is not https://")
        return cls(body["version"], body["sha256"], body["signature"], size, body.get("url", ""), down)

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

    def admissible(self, installed: str) -> None:
        """Anti-rollback: only a newer version, or an older one whose signed `downgrade_from` names the
        installed version exactly. UpdateError if not. (The signature is checked later, before anything is
        installed: a `downgrade_from` the key did not sign fails there.)"""
        try:
            order = compare(self.version, installed)
        except ValueError:
            order = 1 if self.version != installed else 0  # a hand-built installed version: compare nothing
        if self.downgrade_from:
            if self.downgrade_from != installed:
                raise UpdateError(f"this downgrade to {self.version} is signed to replace {self.downgrade_from}, "
                                  f"but {installed} is installed: refused")
            if order >= 0:
                raise UpdateError(f"a downgrade to {self.version} is not older than the installed {installed}")
            return
        if order == 0:
            raise UpdateError(f"version {self.version} is already installed")
        if order < 0:
            raise UpdateError(f"version {self.version} is older than the installed {installed}: refused "
                              "(anti-rollback; a deliberate downgrade needs a release signed with "
                              f"downgrade_from = {installed!r}: docs/fleet.md)")

    def check(self, artifact: Path, public_key: str) -> None:
        """Size, digest, then signature, then that the wheel is the version it claims: UpdateError if not."""
        from hub.update.download import sha256_of  # urllib and zipfile: loaded only for an update
        from hub.update.install import wheel_version

        if not public_key:
            raise UpdateError("no release key: [update] public_key is empty in the config, so no update "
                              "can be verified (docs/fleet.md)")
        actual = artifact.stat().st_size
        if actual != self.size:
            raise UpdateError(f"size mismatch: the file is {actual} bytes, the release says {self.size}", SPOILT)
        digest = sha256_of(artifact)
        if digest != self.sha256:
            raise UpdateError(f"sha256 mismatch: the file is {digest}, the release says {self.sha256}", SPOILT)
        try:
            verify(public_key, self.version, self.sha256, self.size, self.signature, self.downgrade_from)
        except (SignatureError, BadKey) as exc:
            raise UpdateError(f"bad signature: {exc}", OTHER_KEY) from None
        try:
            inside = wheel_version(artifact)
        except RuntimeError as exc:
            raise UpdateError(str(exc)) from None
        if inside != self.version:
            raise UpdateError(f"the wheel is version {inside}, the signed release says {self.version}")
