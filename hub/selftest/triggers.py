"""The self-test of wireless triggers: one row per pendant, wrist button or pull cord ([[triggers]]) and per
device another integration reported as heard, with when it was last heard, its battery, signal and last
weekly test, and what to do. Inside the running hub it reads the hub's status; on a stopped hub the state
file the hub keeps (`state_dir/triggers.json`). Never opens the radio: a passive scan needs minutes.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.selftest.model import FAIL, PASS, SKIP, Env, Result

REMEDY = {
    "not_heard": "按一下按钮；仍收不到：换电池，靠近主机，核对地址 (press it; if still unheard: new battery, closer, "
                 "check the address)",
    "battery_low": "更换按钮电池，再按一下确认 (change its battery, press it once)",
    "untested": "请老人按一下按钮完成测试 (ask the resident to press it once)",
    "test_failed": "检查按钮电池、距离和绑定密钥 (check battery, range and bind key)",
    "counter_back": "在按钮应用里设新密钥，更新 [[triggers]] key (set a new bind key, update [[triggers]] key)",
}


async def check_triggers(env: Env, owned: bool) -> list[Result]:
    rows = await _rows(env, owned)
    bound = {t["id"] for t in env.cfg.get("triggers", [])}
    if not rows and not bound:
        return [Result("triggers", "wireless triggers", SKIP, "none configured")]
    seen = {r["id"] for r in rows}
    out = [Result("triggers", f"{tid}", FAIL, "never heard",
                  "按一下按钮，再运行 hub selftest --only triggers (press it, then run the self-test again)")
           for tid in sorted(bound - seen)]
    for r in rows:
        value = (f"{r.get('room', '')}: heard {_short(r.get('last_heard'))}, battery "
                 f"{'-' if r.get('battery_pct') is None else str(r['battery_pct']) + '%'}"
                 f"{' LOW' if r.get('battery_low') else ''}, signal "
                 f"{'-' if r.get('signal') is None else r['signal']}, tested {_short(r.get('last_test'))}")
        faults = list(r.get("faults") or [])
        remedy = "; ".join(REMEDY.get(f, f) for f in faults)
        out.append(Result("triggers", str(r["id"]), FAIL if faults else PASS, value[:120], remedy))
    return out


async def _rows(env: Env, owned: bool) -> list[dict[str, Any]]:
    if owned and env.status is not None:
        return list((await env.status()).get("triggers") or [])
    try:
        raw = json.loads((env.config.state_dir / "triggers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rows, zone = [], _zone(env)
    for tid, d in sorted((raw.get("devices") or {}).items()):
        if isinstance(d, dict):
            rows.append({"id": tid, **{k: d.get(k) for k in ("room", "battery_pct", "battery_low", "signal")},
                         "last_heard": _iso(d.get("last_heard"), zone), "last_test": _iso(d.get("last_test"), zone),
                         "faults": sorted(d.get("faults") or {})})
    return rows


def _zone(env: Env) -> Any:
    """The hub's zone ([hub] timezone), as the hub shows every time: not the system's (often UTC on a Pi)."""
    try:
        return ZoneInfo(str(env.cfg["hub"]["timezone"]))
    except (ZoneInfoNotFoundError, ValueError, KeyError, TypeError):
        return None


def _iso(t: Any, zone: Any) -> str | None:
    if not isinstance(t, int | float):
        return None
    return datetime.fromtimestamp(t, UTC).astimezone(zone).isoformat(timespec="seconds")


def _short(iso: Any) -> str:
    if not isinstance(iso, str):
        return "never"
    try:
        ago = time.time() - datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return iso
    return f"{iso[:16].replace('T', ' ')} ({ago / 3600:.0f} h ago)" if ago >= 0 else iso[:16]
