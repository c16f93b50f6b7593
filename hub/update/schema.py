"""Config section `[update]`: the release key and where versions live."""

from __future__ import annotations

from typing import Any

from hub.config.keys import Key, Section
from hub.update.signing import BadKey, public_key_bytes

UPDATE = Section(
    "update",
    "Signed updates (docs/fleet.md): the platform's Ed25519 public key and the side-by-side install.",
    {
        "public_key": Key(
            "",
            "Ed25519 public key that signs releases: base64 of the 32 raw bytes, or a PEM block "
            "('-----BEGIN PUBLIC KEY-----...'). '' = updates are refused.",
            example="hO0nlkcSq3fwGMzOHGeV1hBOddBYrCUCg0xXr9JMaz0=",
        ),
        "root": Key(
            "/opt/eldercare-hub/releases",
            "Directory of the versions (versions/VERSION/venv), the `current`/`previous` links the "
            "service starts through, and the pending-update marker. Must be writable by the service user.",
        ),
        "base_venv": Key(
            "/opt/eldercare-hub/venv",
            "The venv `hub install` made: its site-packages provide the dependencies of every version "
            "installed by an update (the artifact is this project's wheel only).",
        ),
        "ca": Key("", "CA file the download server's certificate must chain to; '' = the system store."),
        "health_timeout_s": Key(
            300,
            "A new version must connect to the broker and pass the self-test within this time, "
            "else it is switched back.",
            min=30,
            max=3600,
        ),
        "max_starts": Key(
            3,
            "Starts a new version gets before the boot guard switches back (a version that cannot "
            "start at all).",
            min=1,
            max=10,
        ),
    },
)

SECTIONS: list[Section] = [UPDATE]


def check(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    text = cfg.get("update", {}).get("public_key", "")
    if not text:
        return []
    try:
        public_key_bytes(text)
    except BadKey as exc:
        return [("update.public_key", f"{exc}; expected base64 of a 32-byte Ed25519 key or a PEM public key "
                 "(the platform's release key: docs/fleet.md)")]
    return []
