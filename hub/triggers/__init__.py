"""Wireless triggers: BLE pendants, wrist buttons and pull cords heard passively (BTHome, bound by address
and key), a press -> the call flow of a wired button; supervision of every trigger (not heard, battery,
weekly test) for this package's devices and for those another integration reports through `heard()`."""
