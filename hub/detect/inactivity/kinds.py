"""What an activity says about the moments after it, read from the source's name (the event-log
convention `<KIND>-<place>-<name>:<STATE>`): a rest begins, something is under way (an onset), or
neither. The detector, the rests it tracks and the learned routine read it alike."""

from __future__ import annotations

from typing import Literal

Kind = Literal["rest", "onset", "other"]
ONSET_KINDS = frozenset("DEFM")  # door/cupboard contact, appliance, flush, motion (PIR)


def source_kind(source: str) -> Kind:
    """What an activity says about the moments after it, from the source's name.

    Named `<KIND>-<place>-<name>:<STATE>` (the event-log convention, ../shared/data/README.md):
    "rest" a pressure mat (bed, seat) going ON: someone lies or sits down, a long quiet is normal;
    "onset" a contact, appliance, flush or motion sensor going ON: the resident is in the middle of
    doing something (a door opened is closed again, a tap runs), so a long silence right after is
    unusual even in the evening. Anything else (OFF, or names like "pir", "button:17"): "other".
    """
    name, _, state = source.rpartition(":")
    kind, dash, _ = name.partition("-")
    if state != "ON" or not dash or len(kind) != 1:
        return "other"
    if kind == "P":
        return "rest"
    return "onset" if kind in ONSET_KINDS else "other"
