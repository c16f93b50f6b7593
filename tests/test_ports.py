"""The test servers' ports under parallel workers: a port taken between `free_port()` and the server's
bind is noticed (the listener is not ours) and the server moves to a new port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support import Broker, PortTaken, Subscriber, free_port, listener_pids, wait_listening


def _squatter(port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


def test_free_ports_come_from_this_workers_block_below_the_ephemeral_range() -> None:
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20
    assert all(10000 <= p < 32000 for p in ports), ports


def test_a_listener_that_is_not_the_servers_own_is_refused(tmp_path: Path) -> None:
    port = free_port()
    squatter = _squatter(port)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert os.getpid() in listener_pids(port)
        with pytest.raises(PortTaken, match="not ours"):
            wait_listening(sleeper, port, 5, "sleeper", lambda: "")
    finally:
        sleeper.kill()
        sleeper.wait()
        squatter.close()


def test_a_broker_whose_port_was_taken_moves_to_another(tmp_path: Path) -> None:
    broker = Broker(tmp_path)
    taken = broker.port
    squatter = _squatter(taken)
    try:
        broker.start()
        assert broker.port != taken
        assert broker.proc is not None and broker.proc.pid in listener_pids(broker.port)
        sub = Subscriber(broker.port, "x/#")  # and it is a working broker
        sub.client.publish("x/y", b"{}", qos=1, retain=True).wait_for_publish(5)  # retained: whenever it subscribes
        assert sub.wait_for(lambda m: m[1] == "x/y"), "the moved broker did not deliver"
        sub.close()
    finally:
        squatter.close()
        broker.kill()


def test_a_restarted_broker_keeps_its_port(tmp_path: Path) -> None:
    broker = Broker(tmp_path).start()
    port = broker.port
    broker.stop()
    squatter = _squatter(port)
    try:
        with pytest.raises(PortTaken):  # the hubs' configs name the port: never moved after the first start
            broker.start()
        assert broker.port == port
    finally:
        squatter.close()
        broker.kill()
