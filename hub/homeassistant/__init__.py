"""Home Assistant for families (optional, off by default): MQTT discovery documents and states on a
bridge topic the platform controls, so a relative's Home Assistant shows open calls, last activity,
room climate and the latest readings (docs/fleet.md, "Home Assistant for families")."""
