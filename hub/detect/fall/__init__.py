"""Fall detection: the pure detector (`detector.py`), its component with the spoken countdown (`component.py`)
and the simulated wearable and radar (`sim.py`)."""
