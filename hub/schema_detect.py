"""Config sections for the detect feature (filled in by that feature)."""

from hub.settings import Section

SECTIONS: list[Section] = []
