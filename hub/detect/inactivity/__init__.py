"""Unusual-inactivity detection: the detector (`detector.py`) over a learned routine (`routine.py`) with its
parameters (`params.py`), the component (`component.py`) and `hub sim inactivity` (`sim.py`)."""
