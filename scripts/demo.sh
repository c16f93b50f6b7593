#!/usr/bin/env bash
# One command from a fresh Debian machine to a running simulated hub:
#   installs mosquitto/espeak-ng, makes a venv, starts a local broker, the hub in simulation and the
#   platform console. Press buttons from a second terminal:
#     .venv/bin/hub sim press --config sim/hub.toml            (then 'a' + Enter in the console acks the most severe open alarm)
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
if ! grep -q '^\[power\]' "$SIM/hub.toml"; then
  # The simulated board has a UPS HAT, so 'hub sim power lost|restored|battery_low' can be tried.
  cat >>"$SIM/hub.toml" <<TOML

[power]
fitted = true
good_pin = 12
low_battery_pin = 13
TOML
fi
"$VENV/bin/hub" run --simulate --config "$SIM/hub.toml" >"$SIM/hub.log" 2>&1 &
HUB_PID=$!
cleanup() { kill "$HUB_PID" 2>/dev/null || true; [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null; wait 2>/dev/null || true; }
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
  $VENV/bin/hub status --config $SIM/hub.toml
Console below: open alarms are numbered most severe first; 'a' + Enter acknowledges number 1,
'a N' number N, 'l' lists them again, 'q' quits.
MSG
"$VENV/bin/hub" console --config "$SIM/hub.toml" ${HUB_DEMO_EXIT_AFTER:+--exit-after "$HUB_DEMO_EXIT_AFTER"}
