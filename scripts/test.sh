#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian machine and run them:
#   system packages (mosquitto, espeak-ng, sox, alsa-utils, openssl, systemd, baresip-core; kamailio as the
#   tests' SIP registrar, ejabberd as their second MQTT 5 broker), a venv with the project and its test
#   extras, then ruff, mypy and pytest. Extra arguments go to pytest.
source "$(dirname "$0")/_setup.sh"
ensure_system_packages "${TEST_APT_PACKAGES[@]}"
ensure_venv "[test]"
cd "$ROOT"
export PATH="$VENV/bin:$PATH"
echo "== ruff"
ruff check .
echo "== mypy"
mypy
echo "== hw-tests (on a machine without the hardware they skip; on a Pi: pytest hw-tests --hub-config FILE)"
python -m pytest hw-tests -q -p no:cacheprovider
echo "== pytest"
python -m pytest "$@"
