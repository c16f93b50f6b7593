"""Two-way speech after an alarm over SIP: the hub calls the duty desk, doctor or family in turn, and
answers their call-back hands-free for a while after any alarm (baresip through drivers/sip)."""
