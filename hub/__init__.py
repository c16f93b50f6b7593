"""Eldercare home hub: event flow, detection, the durable queue, the uplink and the CLI."""

__version__ = "0.1.0"
