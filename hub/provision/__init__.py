"""Provisioning at a home visit: the platform's bundle (file, QR text or image) or the interactive
wizard becomes /etc/eldercare-hub/hub.toml; `system.provisioned` reports what was fitted."""
