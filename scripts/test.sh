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
# ruff, mypy and the hw-tests step run beside pytest, their output shown when it ends: the suite mostly waits
# on subprocesses, so the ~25 s they take on a fresh clone (mypy has no cache there) is CPU it leaves idle, not
# added to the run. Any of the four failing fails the run.
checks=$(mktemp -d)
trap 'rm -rf "$checks"' EXIT
{ ruff check . && mypy; } >"$checks/lint" 2>&1 &
lint=$!
python hw-tests/simulated.py >"$checks/hw" 2>&1 &
hw=$!
echo "== pytest (ruff, mypy and hw-tests beside it)"
failed=()
python -m pytest -n "${HUB_TEST_WORKERS:-4}" --maxschedchunk 1 --durations=30 "$@" || failed+=(pytest)
echo "== ruff, mypy"
wait "$lint" || failed+=("ruff/mypy")
cat "$checks/lint"
echo "== hw-tests against a simulated hub (on a Pi: pytest hw-tests --hub-config FILE)"
wait "$hw" || failed+=(hw-tests)
cat "$checks/hw"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
