"""The unit itself: its health (SoC temperature, disk, memory, throttling, uptime) reported to the
platform, and `hub install`, which prepares an SD card (user, venv, systemd unit, watchdog).

Entry points: `health.py` (the component; `build`) and `install.py` (`Installer`, its steps reading and
writing the target system through `system.py`); the `[device]` and `[install]` config sections are in
`schema.py`.
"""
