#!/usr/bin/env bash
# One command from a fresh Debian machine to a running simulated hub:
#   installs mosquitto/espeak-ng, makes a venv, starts a local broker, the hub in simulation and the
#   platform console. Press buttons from a second terminal:
#     .venv/bin/hub sim press --config sim/hub.toml            (then 'a' + Enter in the console acks the most severe open alarm)
#   The hub is kept running the way systemd keeps it (systemd/eldercare-hub.service): started again 2 s after
#   any exit — a remote config that needs a restart and `hub update --from` end it cleanly (exit 0) and count
#   on that — except exit 2, an installer mistake a restart cannot fix (RestartPreventExitStatus=2); the
#   update boot guard runs before each start (ExecStartPre), and the hub starts through releases/current.
source "$(dirname "$0")/_setup.sh"
ensure_system_packages
ensure_venv ""
cd "$ROOT"
SIM=${HUB_SIM_DIR:-$ROOT/sim}
PORT=${HUB_DEMO_PORT:-1883}
mkdir -p "$SIM/state"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "a broker already listens on 127.0.0.1:$PORT; using it"
  BROKER_PID=""
else
  printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$PORT" >"$SIM/mosquitto.conf"
  mosquitto -c "$SIM/mosquitto.conf" >"$SIM/mosquitto.log" 2>&1 &
  BROKER_PID=$!
  sleep 0.5
fi
if [ ! -f "$SIM/hub.toml" ]; then
  cat >"$SIM/hub.toml" <<TOML
# Demo hub in simulation. Every other key keeps its default (config/hub.example.toml lists them all).
[hub]
id = "demo-0001"
state_dir = "$SIM/state"

[mqtt]
host = "127.0.0.1"
port = $PORT

[[buttons]]
pin = 17
kind = "emergency"

[[buttons]]
pin = 27
kind = "health"

[[buttons]]
pin = 22
kind = "service"

[[buttons]]
pin = 23
kind = "family"

[[doors]]
name = "front"
pin = 26
exit = true

[[mats]]
name = "bed"
pin = 20
TOML
fi
if ! grep -q '^\[smoke\]' "$SIM/hub.toml"; then
  # The smoke detector's room, said in its warning: "厨房检测到烟雾，请马上离开家，随手关门…".
  cat >>"$SIM/hub.toml" <<TOML

[smoke]
room = "厨房"
TOML
fi
if ! grep -q '^\[power\]' "$SIM/hub.toml"; then
  # The simulated board has a UPS HAT, so 'hub sim power lost|restored|battery_low' can be tried.
  cat >>"$SIM/hub.toml" <<TOML

[power]
fitted = true
good_pin = 12
low_battery_pin = 13
TOML
fi
if ! grep -q '^\[fall\]' "$SIM/hub.toml"; then
  # A worn fall sensor and a fall radar: the simulated board has the parts the config names, so
  # 'hub sim fall' and 'hub sim radar fall' can be tried (a unit without them never loads the fall path).
  cat >>"$SIM/hub.toml" <<TOML

[fall]
wearable_address = "C8:17:5F:00:00:01"
radar_port = "/dev/ttyAMA0"
TOML
fi
# Signed updates can be tried too: an update root whose `current` is this venv (as `hub install` makes
# it), and a release key of the demo's own (docs/fleet.md, "Signed updates with rollback").
if [ ! -e "$SIM/releases/current" ]; then
  mkdir -p "$SIM/releases"
  ln -s "$VENV" "$SIM/releases/current"
fi
if ! grep -q '^\[update\]' "$SIM/hub.toml"; then
  [ -f "$SIM/release-key/release-key.pub" ] || "$VENV/bin/hub" update keygen --out "$SIM/release-key" >/dev/null
  cat >>"$SIM/hub.toml" <<TOML

[update]
root = "$SIM/releases"
base_venv = "$VENV"
public_key = "$(cat "$SIM/release-key/release-key.pub")"
TOML
fi
if ! grep -q '^\[setup_mode\]' "$SIM/hub.toml"; then
  # The set-up page on this machine instead of a Wi-Fi hotspot: 'hub setup-mode start', then open the URL.
  cat >>"$SIM/hub.toml" <<TOML

[setup_mode]
hotspot = false
address = "127.0.0.1"
port = 8080
TOML
fi
if ! grep -q '^\[zigbee\]' "$SIM/hub.toml"; then
  # Zigbee sensors as zigbee2mqtt reports them, played on the demo's broker: 'hub sim zigbee gas on' closes
  # the gas valve and raises the alarm (docs/hardware.md, "Zigbee sensors").
  cat >>"$SIM/hub.toml" <<TOML

[zigbee]
enabled = true
port = $PORT

[[zigbee.devices]]
friendly_name = "kitchen_gas"
room = "厨房"
role = "gas"

[[zigbee.devices]]
friendly_name = "gas_valve"
room = "厨房"
role = "gas_valve"

[[zigbee.devices]]
friendly_name = "kitchen_co"
room = "厨房"
role = "co"

[[zigbee.devices]]
friendly_name = "bathroom_leak"
room = "卫生间"
role = "water"

[[zigbee.devices]]
friendly_name = "bedside_sos"
room = "卧室"
role = "sos"
TOML
fi
# Stop PID only if it is still the process this demo started: its parent is PARENT and its command line
# holds WHAT. A PID kept in a variable outlives its process (a broker that exited early, a hub between
# two starts), and by the time of the clean-up the number may belong to someone else's program.
stop_ours() {  # PARENT PID WHAT
  local parent=$1 pid=$2 what=$3 stat ppid args
  [ -n "$pid" ] || return 0
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0  # gone already
  read -r _ ppid _ <<<"${stat##*) }"  # after "(comm)", which may itself hold spaces
  args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  if [ "$ppid" != "$parent" ] || [[ "$args" != *"$what"* ]]; then
    echo "demo: PID $pid is no longer the process the demo started ($what); left alone" >&2
    return 0
  fi
  kill "$pid" 2>/dev/null || true
}
EXIT_CONFIG=2  # the hub's exit code for an installer mistake (hub/cli/common.py): systemd does not restart it
supervise() {  # Restart=always, RestartSec=2s, RestartPreventExitStatus=2
  local child="" code
  trap 'stop_ours "$BASHPID" "$child" "hub run"; wait 2>/dev/null; exit 0' TERM INT
  while :; do
    "$VENV/bin/hub" update guard "$SIM/releases" >>"$SIM/hub.log" 2>&1 || true
    "$SIM/releases/current/bin/hub" run --simulate --config "$SIM/hub.toml" >>"$SIM/hub.log" 2>&1 &
    child=$!
    code=0
    wait "$child" || code=$?
    child=""
    if [ "$code" = "$EXIT_CONFIG" ]; then
      echo "demo: 终端因配置错误退出 the hub stopped on a config mistake (exit 2, see $SIM/hub.log): not restarted" \
        | tee -a "$SIM/hub.log" >&2
      return
    fi
    echo "demo: hub exited ($code); starting it again in 2 s, as systemd would" >>"$SIM/hub.log"
    sleep 2
  done
}
: >"$SIM/hub.log"
supervise &
SUPERVISOR_PID=$!
SELF=$(tr '\0' ' ' <"/proc/$$/cmdline")  # what the supervisor subshell's command line is too
cleanup() {
  stop_ours "$$" "$SUPERVISOR_PID" "$SELF"
  wait "$SUPERVISOR_PID" 2>/dev/null || true
  stop_ours "$$" "$BROKER_PID" "mosquitto -c $SIM/mosquitto.conf"
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
cat <<MSG
Simulated hub demo-0001 is running (log: $SIM/hub.log). In another terminal try:
  $VENV/bin/hub sim press --config $SIM/hub.toml              # emergency call
  $VENV/bin/hub sim press --button 27 --config $SIM/hub.toml               # a health call...
  $VENV/bin/hub sim press --button 27 --hold 4 --config $SIM/hub.toml      # ...pressed again and held: cancelled
  $VENV/bin/hub sim power lost --config $SIM/hub.toml
  $VENV/bin/hub sim smoke on --config $SIM/hub.toml
  $VENV/bin/hub sim bp 185 112 --config $SIM/hub.toml
  $VENV/bin/hub sim door open --config $SIM/hub.toml; $VENV/bin/hub sim door close --config $SIM/hub.toml
  $VENV/bin/hub sim mat on --config $SIM/hub.toml            # in bed
  $VENV/bin/hub sim zigbee gas on --config $SIM/hub.toml     # a Zigbee gas detector: the valve closes, the alarm goes out
  $VENV/bin/hub status --config $SIM/hub.toml
  $VENV/bin/hub spoken --config $SIM/hub.toml                # what the resident heard
  $VENV/bin/hub sim wellbeing close --config $SIM/hub.toml   # send the day's summary now, then:
  $VENV/bin/hub report --days 7 --out /tmp/report.png --config $SIM/hub.toml
  $VENV/bin/hub setup-mode start --config $SIM/hub.toml     # the installer's page: open http://127.0.0.1:8080/
                                                           # (set-up code: setup_code in $SIM/label.toml)
  $VENV/bin/hub sim press --help                              # every verb's arguments: hub sim VERB --help
The hub is restarted like systemd does it (2 s after it exits, not after exit 2): try a remote config
that needs a restart, e.g. with mosquitto_pub -p $PORT -r -t eldercare/v1/demo-0001/config/desired \\
  -m '{"version": 1, "config": {"voice": {"also_english": true}}}'
or a signed update, from a copy of this tree with a higher __version__ in hub/__init__.py (e.g. 0.2.0):
  $VENV/bin/pip wheel --no-deps -w /tmp/wheels COPY    # then WHEEL is /tmp/wheels/eldercare_hub-0.2.0-py3-none-any.whl
  $VENV/bin/hub update sign --key $SIM/release-key/release-key.pem WHEEL
  $VENV/bin/hub update --from WHEEL --config $SIM/hub.toml
Console below: open alarms are numbered most severe first; 'a' + Enter acknowledges number 1,
'a N' number N, 'l' lists them again, 'q' quits.
MSG
"$VENV/bin/hub" console --config "$SIM/hub.toml" ${HUB_DEMO_EXIT_AFTER:+--exit-after "$HUB_DEMO_EXIT_AFTER"}
