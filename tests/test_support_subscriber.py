"""The tests' own MQTT subscriber is listening when it is made: a test that makes one while a hub runs and
presses at once must see the call. Before, it returned before the broker had its SUBSCRIBE and missed about
one message in four published right after (test_config's relative state_dir test failed that way)."""
from __future__ import annotations

import json

import paho.mqtt.client as mqtt
from support import Subscriber


def test_a_message_published_right_after_the_subscriber_is_made_is_heard(broker, subscriber):
    auth = broker.auth("race-pub")
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="race-pub")
    if auth is not None:
        pub.username_pw_set(*auth)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    try:
        missed = []
        for i in range(20):
            sub: Subscriber = subscriber(f"race/{i}")
            pub.publish(f"race/{i}", json.dumps({"i": i}), qos=1).wait_for_publish(5)
            if not sub.wait_for(lambda m, i=i: isinstance(m[2], dict) and m[2].get("i") == i, 5):
                missed.append(i)
        assert missed == [], f"published right after the subscriber was made, never heard: {missed}"
    finally:
        pub.disconnect()
        pub.loop_stop()
