"""A real SIP registrar for the registration tests: kamailio (Debian package) on a free loopback port,
with an in-memory location table and digest authentication against one clear-text password — no
database. It also relays an INVITE for a registered user to the contact that user registered (from
its own address and port, as a real server does), so calls can reach the hub "through the server".
Skips when kamailio is not installed (scripts/_setup.sh installs it)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from support import PortTaken, free_port, wait_listening

MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules",
               "/usr/lib/arm-linux-gnueabihf/kamailio/modules", "/usr/lib/kamailio/modules")

CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
children=1
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
mpath="{modules}/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("usrloc", "db_mode", 0)
request_route {{
    if (is_method("REGISTER")) {{
        if (!pv_auth_check("$fd", "{password}", "0", "1")) {{
            auth_challenge("$fd", "0");
            exit;
        }}
        if (!save("location")) {{ sl_reply_error(); }}
        exit;
    }}
    if (is_method("INVITE")) {{  # a call to a registered user: relayed to the contact it registered
        if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
        t_relay();
        exit;
    }}
    if (is_method("ACK|CANCEL")) {{
        if (t_check_trans()) {{ t_relay(); }}
        exit;
    }}
    sl_send_reply("405", "Method Not Allowed");
}}
"""


class Registrar:
    def __init__(self, root: Path, password: str = "secret") -> None:
        binary = shutil.which("kamailio") or next(
            (p for p in ("/usr/sbin/kamailio", "/usr/local/sbin/kamailio") if os.path.exists(p)), None)
        modules = next((d for d in MODULE_DIRS if os.path.exists(f"{d}/registrar.so")), None)
        if binary is None or modules is None:
            pytest.skip("kamailio not installed (apt-get install kamailio; scripts/_setup.sh does it)")
        self.binary, self.root = binary, root
        root.mkdir(parents=True, exist_ok=True)
        self.modules, self.password = modules, password
        self._use_port(free_port())  # TCP and UDP both free, in this xdist worker's block
        self.proc: subprocess.Popen[bytes] | None = None

    def _use_port(self, port: int) -> None:
        self.port = port
        self.domain = f"127.0.0.1:{port}"
        self.cfg = self.root / "kamailio.cfg"
        self.cfg.write_text(CONFIG.format(port=port, modules=self.modules, password=self.password))

    def start(self) -> Registrar:
        for attempt in range(5):
            with open(self.root / "kamailio.log", "ab") as log:
                self.proc = subprocess.Popen(
                    [self.binary, "-f", str(self.cfg), "-DD", "-E", "-Y", str(self.root), "-P",
                     str(self.root / "pid"), "-m", "16", "-M", "4"], stdout=log, stderr=log, start_new_session=True)
            try:
                log_tail = lambda: (self.root / "kamailio.log").read_text()[-800:]  # noqa: E731
                wait_listening(self.proc, self.port, 15, "kamailio", log_tail)
            except PortTaken:  # another worker's server took the port first: a new one
                self.stop()
                if attempt == 4:
                    raise
                self._use_port(free_port())
                continue
            except RuntimeError:
                self.stop()
                raise
            return self
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
