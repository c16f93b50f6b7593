"""Cellular modems (3GPP AT command set): the dialogue as pure functions, and an async client."""
