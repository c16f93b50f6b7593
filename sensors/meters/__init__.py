"""Bluetooth LE health meters as readings: the coordinator that connects to paired meters
(`coordinator.py`), pairing (`pairing.py`), the blood-pressure and glucose downloads (`bp.py`,
`glucose.py`, `glucose_records.py`), quirk profiles (`profiles.py`, `profiles.toml`), the plausibility gate
(`plausible.py`), the readings they yield (`readings.py`) and what the hub remembers of them (`store.py`).
"""
