"""Config sections for the ble feature (filled in by that feature)."""

from hub.settings import Section

SECTIONS: list[Section] = []
