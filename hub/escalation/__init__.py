"""The escalation chain: when the platform leaves an alarm unacknowledged, the hub texts and calls the
people the community organised (duty desk -> family -> neighbour/volunteer) and tells the resident who
is coming. schema.py: `[escalation]`; steps.py: the chain's pure logic; component.py: the running part."""
