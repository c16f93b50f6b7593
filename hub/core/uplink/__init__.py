"""The MQTT uplink: outbox rows to the broker and platform commands back, on the hub's asyncio loop.

`session.py` (`Uplink`) hands rows to paho while connected and deletes them on PUBACK; `connection.py`
connects, honours CONNACK and reconnects with backoff; `paho_loop.py` drives paho's socket from the loop;
`liveness.py` notices a dead link or a second hub with this client id; `replies.py` words what the broker
says back for an installer; `retained.py` keeps the retained documents; `tls_switch.py` reconnects with a
new client certificate.
"""
