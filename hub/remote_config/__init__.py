"""Remote configuration: the platform's retained desired document (`{prefix}/{hub}/config/desired`) is
checked against the same schema as hub.toml, merged into the file (written atomically, the previous one
kept), applied live where the running code reads the value at each use, else by a clean restart that
systemd completes; the outcome is published retained on `config/reported`. A restart that does not get
back to the broker within `[remote_config] rollback_after_s` is rolled back. Entry point:
component.build; the document rules are in document.py, the power-cut-safe journal in journal.py, what
the platform may change in allowlist.py, the held wiring changes (`hub config apply`) in confirm.py, the
trial and rollback in trial.py, and the broker proof (probe and platform ack) in probe.py.
"""
