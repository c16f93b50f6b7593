# Shared by scripts/demo.sh and scripts/test.sh: system packages (Debian/Raspberry Pi OS) and a venv.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${HUB_VENV:-$ROOT/.venv}
# baresip-core: the SIP user agent the hub drives for voice calls
APT_PACKAGES=(mosquitto mosquitto-clients espeak-ng sox alsa-utils openssl systemd baresip-core)
# fonts-wqy-microhei: the Chinese labels of `hub report` (hub.wellbeing.chart)
APT_PACKAGES+=(fonts-wqy-microhei)
# only the tests need these: kamailio is the SIP registrar they run on loopback; fuse3 (libfuse3) runs
# the power-cut filesystem (tests/powercut.py); ejabberd is the second MQTT 5 broker the call tests run
# against (tests/brokers.py, docs/fleet.md)
TEST_APT_PACKAGES=(kamailio fuse3 ejabberd)
# tmux: the console is tested as an installer sees it, in a terminal (tests/test_console_tmux.py)
TEST_APT_PACKAGES+=(tmux)
# chromium: the set-up page is tested in a real browser (tests/test_setup_browser.py, Playwright drives it);
# fonts-wqy-microhei: its Chinese is drawn, not boxes, in the screenshots
TEST_APT_PACKAGES+=(chromium fonts-wqy-microhei)
# zbar-tools, qrencode: provisioning from a photo of the platform's QR code (tests/test_provision_bundle.py)
TEST_APT_PACKAGES+=(zbar-tools qrencode)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "需要 root 权限安装系统软件包 / need root to install: ${APT_PACKAGES[*]}" >&2; return 1; fi
}

ensure_system_packages() {  # extra arguments: more packages (the tests' own)
  local missing=()
  for pkg in "${APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian enables and starts kamailio's system service on 5060 and ejabberd's on 1883 (MQTT), 5222…;
    # the tests start their own on free ports, so keep the system ones off (1883 is the demo's broker).
    for service in kamailio ejabberd; do
      if [[ " ${missing[*]} " == *" $service "* ]] && [ -d /run/systemd/system ]; then
        as_root systemctl disable --now "$service.service" >/dev/null 2>&1 || true
      fi
    done
  fi
  export PATH="$PATH:/usr/sbin"
}

ensure_venv() {
  local extras=${1:-}
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(cat "$ROOT/pyproject.toml" | sha1sum | cut -c1-12)$extras"
  if [ ! -f "$stamp" ]; then
    # The build backend's chatter goes to a log; it is shown only if the install fails.
    local log="$VENV/pip-install.log"
    echo "installing Python packages into $VENV (log: $log) ..."
    # The venv's own pip installs all of it (PEP 660 editable installs need pip >= 21.3): upgrading it first
    # only added a download. Its byte-compiling stays on: with PYTHONDONTWRITEBYTECODE set, nothing else would.
    if ! "$VENV/bin/pip" install -q -e "$ROOT$extras" >"$log" 2>&1; then
      cat "$log" >&2
      echo "pip install failed (above; also in $log)" >&2
      return 1
    fi
    touch "$stamp"
  fi
}
