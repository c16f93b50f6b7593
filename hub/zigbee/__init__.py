"""Zigbee sensors through zigbee2mqtt on the unit's own broker: gas, CO, water, smoke, SOS, door, motion, valves."""
