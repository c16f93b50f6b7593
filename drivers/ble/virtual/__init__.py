"""An in-memory bleak backend for simulation and tests: the radio the peripherals live on (`radio.py`),
bleak's client and scanner backends over it (`backends.py`) and GATT services as plain data (`gatt.py`).
"""
