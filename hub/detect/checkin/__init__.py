"""The daily check-in ("报平安"): the window and its rules (`schedule.py`) and the component (`component.py`)."""
