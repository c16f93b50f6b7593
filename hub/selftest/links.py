"""Self-test of the hub's links to the outside: the 4G modem (answers AT, SIM, network, signal, VoLTE), the
platform's MQTT broker (a round trip on the hub's own topics), the SIP account for voice calls
(baresip installed, registered) and the Bluetooth adapter (a scan).
Each talks through the hardware seams (`open_serial`, the bleak scanner backend) or a second,
short-lived MQTT client, never through the running hub's own connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass
from typing import Any

from drivers.modem.at import parse_cpin, parse_csq, parse_registration
from drivers.modem.client import AtError, AtModem, AtTimeout
from drivers.modem.ims import read_ims, vendor_of
from hub.config.loader import Config
from hub.selftest.model import FAIL, PASS, SKIP, Env, Result


async def check_modem(env: Env, owned: bool) -> list[Result]:
    m = env.cfg["modem"]
    if m["port"] is None:
        return []
    if owned and env.status is not None:  # the running hub holds the port: judge from what it reads
        cellular = (await env.status()).get("cellular") or {}
        if cellular.get("modem") == "ok":
            return judge_modem(m["port"], cellular.get("sim"), cellular.get("registration"),
                               cellular.get("signal_dbm"), Voice(cellular.get("cs_registration"),
                                                                 cellular.get("ims"), cellular.get("volte")))
        if cellular.get("modem") == "fault":  # the hub's own modem task failed: not a cable to check
            return [Result("modem", "modem task", FAIL, str(cellular.get("error") or "fault")[:60],
                           "4G 模块任务出错，正在自动重启；反复出现请把日志交给维护人员 / the hub's modem task "
                           "failed and is being restarted; if it recurs, send `journalctl -u hub` to support")]
        return [_no_answer(m["port"], str(cellular.get("error") or cellular.get("modem") or "no answer"))]
    try:
        sim, registration, dbm, voice = await _ask_modem(env, m["port"], m["baudrate"])
    except (OSError, AtError, AtTimeout, ValueError, IndexError) as exc:
        return [_no_answer(m["port"], str(exc))]
    return judge_modem(m["port"], sim, registration, dbm, voice)


@dataclass(frozen=True)
class Voice:
    """What decides whether the modem can place a voice call: 2G/3G voice, else VoLTE."""

    cs_registration: str | None  # +CREG: circuit-switched (2G/3G) registration
    ims: str | None  # AT+QCFG="ims": "on" | "off" | "auto" | "unknown"
    volte: bool | None  # VoLTE up (None: the module does not say)


async def _ask_modem(env: Env, port_name: str, baudrate: int) -> tuple[str, str, int | None, Voice]:
    port = await asyncio.to_thread(env.hardware.open_serial, port_name, baudrate=baudrate, timeout=0.5)
    async with AtModem(port) as modem:
        for command in ("ATE0", "AT+CMEE=1"):
            await modem.command(command, timeout=3.0)
        try:
            sim = parse_cpin((await modem.command("AT+CPIN?", timeout=3.0))[0])
        except AtError as exc:
            sim = "absent" if exc.final.code == 10 else f"error {exc.final.code}"
        registration = cs = parse_registration((await modem.command("AT+CREG?", timeout=3.0))[0], reply=True)
        with contextlib.suppress(AtError):
            lte = parse_registration((await modem.command("AT+CEREG?", timeout=3.0))[0], reply=True)
            registration = lte if lte in ("home", "roaming") else registration
        dbm = parse_csq((await modem.command("AT+CSQ", timeout=3.0))[0])
        ims, volte = await read_ims(modem, await vendor_of(modem))
    return sim, registration, dbm, Voice(cs, ims, volte)


def _no_answer(port: str, why: str) -> Result:
    return Result("modem", "answers AT", FAIL, f"{port}: {why[:60] or 'no answer'}",
                  "4G 模块无应答：检查 USB 连接和供电 / modem not answering: check its USB cable and power")


def judge_modem(port: str, sim: str | None, registration: str | None, dbm: int | None,
                voice: Voice | None = None) -> list[Result]:
    """SIM, network, signal and voice (VoLTE), each with what to do about it."""
    rows = [Result("modem", "answers AT", PASS, port)]
    if sim != "READY":
        rows.append(Result("modem", "SIM card", FAIL, str(sim),
                           "未检测到可用 SIM 卡：断电后插好 SIM 卡（或解除 PIN） / no usable SIM: power off, seat the "
                           "SIM card (or remove its PIN)"))
        return rows
    rows.append(Result("modem", "SIM card", PASS, "READY"))
    if registration not in ("home", "roaming"):
        rows.append(Result("modem", "network", FAIL, str(registration),
                           "未注册到移动网络：检查天线、套餐是否开通短信 / not on the network: check the antenna "
                           "and that the SIM's plan is active with SMS"))
    else:
        rows.append(Result("modem", "network", PASS, str(registration)))
    if dbm is None or dbm < -105:
        rows.append(Result("modem", "signal", FAIL, "unknown" if dbm is None else f"{dbm} dBm",
                           "信号太弱：把天线移到窗边或更高处 / signal too weak: move the antenna near a window, "
                           "higher up"))
    else:
        rows.append(Result("modem", "signal", PASS, f"{dbm} dBm"))
    if voice is not None and registration in ("home", "roaming"):
        rows.append(judge_voice(voice))
    return rows


def judge_voice(voice: Voice) -> Result:
    """Can the modem place a voice call? Over VoLTE, or over 2G/3G where the carrier still has it."""
    setting = f"IMS {voice.ims or 'unknown'}"
    if voice.volte:
        return Result("modem", "voice calls (VoLTE)", PASS, f"{setting}, VoLTE ready")
    cs = voice.cs_registration in ("home", "roaming")
    if voice.volte is None and voice.ims in (None, "unknown", "auto"):
        return Result("modem", "voice calls (VoLTE)", PASS if cs else SKIP,
                      f"{setting}; " + ("calls over 2G/3G" if cs else "the module does not say whether VoLTE is up"),
                      "" if cs else "打一次测试电话确认 / place a test call to a duty number to confirm")
    if cs:
        return Result("modem", "voice calls (VoLTE)", PASS, f"{setting}, VoLTE off: calls over 2G/3G")
    if voice.ims == "off" or voice.ims == "auto":
        remedy = ('4G 模块未开启 VoLTE，而此网络没有 2G/3G 语音（联通、电信）：在模块 AT 口发送 AT+QCFG="ims",1，再发 '
                  'AT+CFUN=1,1 重启模块 / VoLTE is off and this network has no 2G/3G voice: send AT+QCFG="ims",1 '
                  'then AT+CFUN=1,1 on the modem\'s AT port')
    else:
        remedy = ("VoLTE 未开通：请运营商为此 SIM 卡开通 VoLTE 高清通话 / the carrier has not admitted this SIM to "
                  "VoLTE: ask the carrier to enable VoLTE on it")
    return Result("modem", "voice calls (VoLTE)", FAIL, f"{setting}, VoLTE off, no 2G/3G voice", remedy)


async def check_broker(env: Env, owned: bool) -> list[Result]:
    """Connect as a separate client (never the hub's own id: that would kick the hub off), publish on
    the hub's own topic tree and wait for the message to come back."""
    from hub.selftest.mqtt import round_trip

    mqtt = env.cfg["mqtt"]
    where = f"{mqtt['host']}:{mqtt['port']}"
    rows = await asyncio.to_thread(certificate_rows, env.config)
    try:
        ms = await asyncio.to_thread(
            round_trip, env.config, f"{env.config.topic_base}/selftest/{secrets.token_hex(4)}"
        )
    except (OSError, RuntimeError, TimeoutError) as exc:
        return [
            Result(
                "broker",
                "round trip",
                FAIL,
                f"{where}: {exc}",
                "连不上平台：检查网络/Wi-Fi、broker 地址和账号 / cannot reach the platform: check the "
                "network, [mqtt] host and credentials",
            ),
            *rows,
        ]
    return [Result("broker", "round trip", PASS, f"{where}: {ms:.0f} ms"), *rows]


def certificate_rows(config: Config) -> list[Result]:
    """The client certificate's expiry: a pass that still names the remedy while it is due for renewal
    ([certificates] warn_days), a failure from fault_days on and once expired. Blocking."""
    from hub.certificates.x509 import describe

    info = describe(config)
    if info is None:
        return []
    if info["state"] == "unreadable":
        return [Result("broker", "certificate", FAIL, f"{info['path']}: {info['detail']}",
                       f"检查证书文件 / check the file named by [mqtt.tls] cert in {config.path}")]
    value = (f"{info['subject']}, issuer {info['issuer']}: {info['days_left']:.0f} days left "
             f"(until {info['not_after'][:10]})")
    result = FAIL if info["state"] in ("expires_soon", "expired") else PASS
    return [Result("broker", "certificate", result, value, info.get("remedy", ""))]



async def check_ble(env: Env, owned: bool) -> list[Result]:
    if not env.cfg["ble"]["enabled"]:
        return []
    if env.simulated and env.hardware.ble_scanner_backend is None and env.hardware.world is not None:
        # The simulated board's adapter is its virtual radio, put on the board by whatever uses it first
        # (a wearable, a pendant, the first meter verb): here, the self-test.
        from hub.core.simulation import shared_radio

        shared_radio(env.hardware)
    if env.simulated and env.hardware.ble_scanner_backend is None:
        return [Result("ble", "adapter scanning", SKIP, "simulated: no virtual BLE backend in this hub")]
    try:
        from bleak import BleakScanner

        kwargs: dict[str, Any] = {"timeout": 4.0}
        if env.hardware.ble_scanner_backend is not None:
            kwargs["backend"] = env.hardware.ble_scanner_backend
        if env.cfg["ble"]["adapter"]:
            kwargs["bluez"] = {"adapter": env.cfg["ble"]["adapter"]}
        found = await asyncio.wait_for(BleakScanner.discover(**kwargs), 15)
    except Exception as exc:  # bleak raises its own errors, D-Bus errors or OSError for a missing adapter
        return [
            Result(
                "ble",
                "adapter scanning",
                FAIL,
                f"{type(exc).__name__}: {str(exc)[:60]}",
                "蓝牙未开启：rfkill unblock bluetooth; bluetoothctl power on / Bluetooth off or missing",
            )
        ]
    return [Result("ble", "adapter scanning", PASS, f"{len(found)} devices seen")]


async def check_sip(env: Env, owned: bool) -> list[Result]:
    """Voice calls over SIP ([voice_call] with an account): baresip and its modules installed, echo
    cancellation, and the registration — the running hub's (from the state its baresip reports), or
    on a stopped hub a one-off registration by a short-lived baresip with the same account."""
    v = env.cfg.get("voice_call")
    if not v or v["account"] is None:
        return []
    from drivers.sip import registration as reg
    from drivers.sip.agent import Unavailable, check_installed
    from drivers.sip.probe import probe_registration
    from drivers.sip.setup import echo_cancel_available, settings_from_section

    settings = settings_from_section(v)
    try:
        binary, module_dir = check_installed(settings)
    except Unavailable as exc:
        return [Result("sip", "baresip installed", FAIL, str(exc),
                       "未安装 SIP 通话程序：sudo apt-get install baresip-core / install baresip-core")]
    results = [Result("sip", "baresip installed", PASS, f"{binary}, modules in {module_dir}")]
    if v["echo_cancel"] and not echo_cancel_available(module_dir):
        results.append(Result("sip", "echo cancellation", FAIL, "webrtc_aec module not installed",
                              "无回声消除：换用自带回声消除的免提话机，再设 [voice_call] echo_cancel = false / "
                              "use a speakerphone that cancels echo, then set echo_cancel = false"))
    if not v["register"]:
        return [*results, Result("sip", "registration", PASS, "not used (register = false: direct calls)")]
    if owned:
        state = reg.read_state(env.config.state_dir / "sip")
        for _ in range(20):  # just started: give the first registration up to 10 s to be answered
            if state is None or state.state != reg.REGISTERING:
                break
            await asyncio.sleep(0.5)
            state = reg.read_state(env.config.state_dir / "sip")
        if state is None:
            return [*results, Result("sip", "registration", FAIL, "the hub's baresip is not running",
                                     "SIP 程序未运行：看 `hub status` 的 voice_call 和 journalctl -u eldercare-hub / "
                                     "baresip not running: see voice_call in `hub status` and the journal")]
    else:
        state = await probe_registration(settings)
    if state.state == reg.REGISTERED:
        return [*results, Result("sip", "registration", PASS, state.describe()[:80])]
    return [*results, Result("sip", "registration", FAIL, state.describe()[:80], _sip_remedy(state.detail))]


def _sip_remedy(detail: str) -> str:
    code = detail[:3]
    if code in ("401", "403", "407"):
        return ("SIP 账号或密码错误：核对 [voice_call] account、password、auth_user / the server refused the "
                "account: check account, password, auth_user")
    if code == "404":
        return "SIP 服务器上没有此账号：请平台开通 / the server does not know this account: ask the platform"
    return ("连不上 SIP 服务器：检查网络、account 的域名和 outbound / cannot reach the SIP server: check the "
            "network, the account's domain and [voice_call] outbound")
