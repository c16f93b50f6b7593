#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian machine and run them:
#   system packages (mosquitto, espeak-ng, sox, alsa-utils, openssl, systemd, baresip-core; kamailio as the
#   tests' SIP registrar, ejabberd as their second MQTT 5 broker), a venv with the project and its test
#   extras, then ruff, mypy and pytest on several workers (pytest-xdist; most tests wait on subprocess hubs
#   and brokers, so 4 workers on 2 cores: 6 were no faster and starved the CPU-bound speech tests).
#   --maxschedchunk 1: a worker takes one test at a time, so the slow tests, collected first
#   (tests/conftest.py), spread over all workers instead of queueing on the first. Extra arguments go to
#   pytest (`-n 0`: one process; `-m "not slow"`: the quick loop). $HUB_TEST_WORKERS: how many workers.
source "$(dirname "$0")/_setup.sh"
ensure_system_packages "${TEST_APT_PACKAGES[@]}"
ensure_venv "[test]"
cd "$ROOT"
export PATH="$VENV/bin:$PATH"
echo "== ruff"
ruff check .
echo "== mypy"
mypy
echo "== hw-tests against a simulated hub (on a Pi: pytest hw-tests --hub-config FILE)"
python hw-tests/simulated.py
echo "== pytest"
python -m pytest -n "${HUB_TEST_WORKERS:-4}" --maxschedchunk 1 --durations=30 "$@"
