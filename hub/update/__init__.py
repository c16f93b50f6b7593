"""Signed updates with rollback (docs/fleet.md "Signed updates with rollback").

`cmd/update` or `hub update --from FILE`: fetch (resumable HTTPS), verify (sha256 + Ed25519), install side
by side in its own venv, wait for no open call or alarm, switch `current` atomically, restart; the new
version proves itself (broker + self-test) or is switched back. Keep this file import-free: the boot
guard (`python -m hub.update.guard`) runs before every start on the stdlib alone.
"""
