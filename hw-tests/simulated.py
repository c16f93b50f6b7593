"""CI's hw-tests step: the technicians' hardware tests against a simulated hub, so they run, not skip.

Starts a private mosquitto and `hub run --simulate` with the parts fitted (temperature, analog smoke,
power supply), runs `pytest hw-tests --simulate` against it and
fails unless at least MIN_PASSED checks passed: a return code alone would accept all-skipped.
Run: `python hw-tests/simulated.py` (scripts/test.sh does).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import Broker, HubProcess, write_config  # noqa: E402

# 12 checks: all pass but the modem (none configured) and the clock (a simulated hub does not judge the host's)
MIN_PASSED = 10
FITTED = """
[temperature]
part = "sht3x"

[smoke]
kind = "analog"

[power]
fitted = true
"""


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hw-sim-") as tmp:
        root = Path(tmp)
        (root / "broker").mkdir()
        broker = Broker(root / "broker").start()
        config = write_config(root / "hub" / "hub.toml", broker.port, hub_id="hw-sim-0001", extra=FITTED)
        hub = HubProcess(config)
        try:
            hub.start()
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "hw-tests", "--simulate", "--hub-config", str(config),
                 "-q", "-p", "no:cacheprovider", "-rs"], cwd=ROOT, capture_output=True, text=True, timeout=600)
        finally:
            hub.stop()
            broker.kill()
        print(done.stdout[-4000:], end="")
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            return done.returncode
        found = re.search(r"(\d+) passed", done.stdout)
        passed = int(found.group(1)) if found else 0
        if passed < MIN_PASSED:
            print(f"hw-tests: only {passed} passed against the simulated hub (at least {MIN_PASSED} expected)",
                  file=sys.stderr)
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
