"""`hub eval`: the detectors replayed over recorded data: falls (`falls.py`, `cross_validation.py`, false
alarms per day of wear in `wear.py`) and inactivity (`inactivity.py`)."""
