"""The link errors that end a meter download: bleak's, a timeout, the adapter's OS errors, a dropped
stream. Apart from the readings (`sensors/meters/readings.py`) so that what grades and stores readings
loads without bleak, which only the download code needs (a hub with no meter paired never imports it).
"""

from __future__ import annotations

from bleak.exc import BleakError

LINK_ERRORS = (BleakError, TimeoutError, OSError, EOFError)
