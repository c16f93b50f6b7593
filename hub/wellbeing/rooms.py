"""Which part of the home a sign of life comes from, by the words in its source name.

Sources are `<KIND>-<place>-<name>[:ON|OFF]` for contacts and the recorded homes (`F-Bathroom-Toilet:ON`,
`D-Hall-Toiletdoor:OFF`, `P-bed-bed:ON`, `X-door-front:ON`) and bare words for the rest (`pir`,
`button:17`, `ble:bp`, `radar`). Homes name their sensors freely, so the room is found by words an
installer can extend in `[wellbeing]`, not by a fixed list of names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BATHROOM_WORDS = ("bath", "toilet", "shower", "basin", "flush", "wc", "卫生间", "厕所")
KITCHEN_WORDS = ("kitchen", "fridge", "freezer", "cupboard", "microwave", "toaster", "cooktop", "stove",
                 "dishwasher", "kettle", "厨房")
BED_WORDS = ("bed", "床")


@dataclass(frozen=True)
class Rooms:
    bathroom: tuple[str, ...] = BATHROOM_WORDS
    kitchen: tuple[str, ...] = KITCHEN_WORDS
    bed: tuple[str, ...] = BED_WORDS

    @classmethod
    def from_config(cls, section: dict[str, object]) -> Rooms:
        def words(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            extra = section.get(key) or []
            assert isinstance(extra, Iterable)
            return default + tuple(str(w).lower() for w in extra)

        return cls(words("bathroom_words", BATHROOM_WORDS), words("kitchen_words", KITCHEN_WORDS),
                   words("bed_words", BED_WORDS))

    def of(self, source: str) -> str:
        """'exit', 'bathroom', 'kitchen', 'bed' (a bed mat) or 'other' (a bedroom door is not the bed)."""
        name = source.partition(":")[0] if ":" in source and source[:2].isupper() else source
        kind = name[:2]
        if kind == "X-":
            return "exit"
        if kind == "F-":
            return "bathroom"  # a flush is the toilet whatever the place is called
        low = name.lower()
        if kind == "P-" and any(w in low for w in self.bed):
            return "bed"
        for room, words in (("bathroom", self.bathroom), ("kitchen", self.kitchen)):
            if any(w in low for w in words):
                return room
        return "other"


def state_of(source: str) -> str:
    """'ON', 'OFF' or '' for a source without a state (a press, a reading, the PIR)."""
    head, sep, tail = source.rpartition(":")
    return tail if sep and head[:2].isupper() and tail in ("ON", "OFF") else ""
