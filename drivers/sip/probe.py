"""A short-lived baresip that tries the hub's SIP account once: `hub selftest` on a stopped hub.

Never run it beside the hub's own baresip: a server that keeps one binding per account would drop
the hub's registration, or refuse this one. The running hub's state is in its registration file.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from dataclasses import replace
from pathlib import Path

from drivers.sip import registration as reg
from drivers.sip.agent import BaresipAgent
from drivers.sip.setup import AgentSettings


async def probe_registration(settings: AgentSettings, timeout: float = 20.0) -> reg.Registration:
    """Register once and report: registered, failed (with the server's or the network's words), or
    still registering after `timeout` (the server never answered). Raises Unavailable without baresip.
    Its config (with the password) lives in a private temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hub-sip-probe-") as directory:
        return await _probe(settings, Path(directory), timeout)


async def _probe(settings: AgentSettings, directory: Path, timeout: float) -> reg.Registration:
    host = settings.listen.rsplit(":", 1)[0] or "auto"
    quiet = replace(settings, listen=f"{host}:0", dump_dir=None)  # any free port: a stray hub must not clash
    changed = asyncio.Event()
    agent = BaresipAgent(quiet, directory, on_event=lambda event: None, on_state=lambda state: changed.set(),
                         backoff_min_s=timeout, backoff_max_s=timeout)
    task = asyncio.get_running_loop().create_task(agent.run(), name="sip.probe")
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and not task.done():
            changed.clear()
            state = agent.registration
            if state.state == reg.REGISTERED or (state.state == reg.FAILED and state.detail):
                return state
            if state.state == reg.FAILED:  # baresip's words for it are on their way in its output
                deadline = min(deadline, loop.time() + 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), max(0.0, deadline - loop.time()))
        if task.done():
            task.result()  # Unavailable: baresip not installed
        return agent.registration
    finally:
        await agent.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
