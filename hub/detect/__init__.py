"""Local detectors (fall, inactivity): pure logic fed readings and time, returning decisions."""
