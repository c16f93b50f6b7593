"""Speaker level for calls: the ALSA mixer control set to `[voice_call] speaker_volume_pct` (the hub's
maximum) before each call, because an older listener on the floor across the room must hear the
operator. A missing control or amixer is logged once, with the remedy, and the call goes on."""

from __future__ import annotations

import asyncio
import logging
import shutil
from typing import Any

log = logging.getLogger(__name__)
_reported: set[str] = set()


async def set_speaker_volume(v: dict[str, Any]) -> bool:
    control = v["mixer_control"]
    if not control:
        return False
    amixer = shutil.which("amixer")
    if amixer is None:
        _once("amixer", "speaker volume not set: amixer missing (sudo apt-get install alsa-utils)")
        return False
    argv = [amixer, "-q"] + (["-c", v["mixer_card"]] if v["mixer_card"] else [])
    argv += ["sset", control, f"{v['speaker_volume_pct']}%"]
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 5)
    except (OSError, TimeoutError) as exc:
        _once(f"run:{exc}", f"speaker volume not set: {exc}")
        return False
    if proc.returncode != 0:
        why = err.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        _once(f"{control}:{why[0]}", f"speaker volume not set ({why[0]}): check [voice_call] mixer_control = "
              f"{control!r} and mixer_card against `amixer scontrols`")
        return False
    return True


def _once(key: str, message: str) -> None:
    if key not in _reported:
        _reported.add(key)
        log.warning(message)
