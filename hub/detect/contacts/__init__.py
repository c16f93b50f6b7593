"""Door contacts and bed/chair mats: their activity names and supervision (`inputs.py`), the component
(`component.py`) and `hub sim door|mat` (`sim.py`)."""
