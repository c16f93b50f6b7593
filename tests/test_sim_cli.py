"""Every CLI command usable as documented: `hub sim VERB --help` without a config or a running hub (and
held to the same options as the verb the hub parses), bilingual help, and no traceback when the reader
of `hub … | head` goes away."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from hub.cli import main
from hub.cli.sim_verbs import VERBS
from hub.core.control import ControlError

HAN = re.compile(r"[\u4e00-\u9fff]")
NO_CONFIG = {**os.environ, "HUB_CONFIG": "/nonexistent/hub.toml"}


def _hub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, timeout=60,
                          env=env or NO_CONFIG, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_sim_verb_help_needs_no_config_and_no_hub(verb: str, flag: str, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]):
    # In-process: `hub`'s entry point is this main(); a process per verb (50 of them) added only start-up
    # time. The command line itself is exercised below (test_sim_help_after_other_arguments…).
    monkeypatch.setenv("HUB_CONFIG", NO_CONFIG["HUB_CONFIG"])
    try:
        code = main(["sim", verb, flag])
    except SystemExit as exit_:  # argparse's own --help
        code = exit_.code
    out = capsys.readouterr()
    assert code in (0, None), out.err
    assert out.out.startswith(f"usage: hub sim {verb}") and HAN.search(out.out), out.out
    assert "config error" not in out.err and "must be" not in out.out + out.err


def test_sim_help_after_other_arguments_and_for_a_modem_subcommand():
    out = _hub("sim", "temperature", "30", "--help")  # a value, then --help: still the help, not a bad number
    assert out.returncode == 0 and "usage: hub sim temperature" in out.stdout
    out = _hub("sim", "modem", "callee", "--help")
    assert out.returncode == 0 and "usage: hub sim modem callee" in out.stdout and "--press KEYS" in out.stdout
    out = _hub("sim", "no-such-verb", "--help")
    assert out.returncode == 2 and "unknown verb 'no-such-verb'" in out.stderr and "press" in out.stderr


# every simulated part fitted, so that the hub registers every verb it has
FITTED = ('[power]\nfitted = true\ngood_pin = 12\nlow_battery_pin = 13\n\n[modem]\nport = "/dev/ttyUSB2"\n'
          'sms_numbers = ["+8613800138000"]\n\n[[doors]]\nname = "front"\npin = 26\n\n'
          '[[mats]]\nname = "bed"\npin = 20\n\n'
          '[[triggers]]\nid = "pendant"\naddress = "A4:C1:38:00:00:01"\nkey = "231d39c1d7cc1ab1aee224cd096db932"\n')


def test_every_verb_the_hub_knows_has_the_same_options_here(make_hub):
    hub = make_hub(extra=FITTED)
    with pytest.raises(ControlError) as listing:
        hub.sim("no-such-verb")
    known = re.search(r"this hub knows: (.*)", str(listing.value))
    assert known, listing.value
    registered = [v.strip() for v in known.group(1).split(",")]
    assert set(registered) <= set(VERBS), f"verbs without local help: {set(registered) - set(VERBS)}"
    compared = 0
    for verb in registered:
        try:
            remote = hub.sim(verb, "--help").get("help")
        except ControlError:
            continue  # a verb that parses its own arguments (inactivity, clock-step): no argparse help
        if remote is None:
            continue
        local = _hub("sim", verb, "--help").stdout.split("\n\n")[0]  # the usage: options and choices
        remote = remote.split("\n\n")[0]
        options = {o for o in re.findall(r"--[a-z][a-z-]*", local) if o not in ("--config", "--json", "--help")}
        assert options == set(re.findall(r"--[a-z][a-z-]*", remote)), (verb, local, remote)
        assert set(re.findall(r"\{[^}]*\}", local)) == set(re.findall(r"\{[^}]*\}", remote)), (verb, local, remote)
        compared += 1
    assert compared >= 14 and "modem" in registered, (compared, registered)


def test_every_verb_of_hub_help_is_bilingual():
    out = _hub("--help")
    verbs = re.findall(r"^    (\w+)\s+(.*)$", out.stdout, re.M)
    lines = {v: h for v, h in verbs}
    assert len(lines) >= 10
    for verb in ("run", "sim", "status", "console", "config", "eval", "ble"):
        assert HAN.search(lines[verb]), (verb, lines[verb])
    console = _hub("console", "--help").stdout
    assert "--ack EVENT_ID" in console and "应答" in console and "3 sent but not confirmed" in " ".join(
        console.split())


@pytest.mark.parametrize("args", [("config", "example"), ("config", "defaults"), ("sim", "press", "--help"),
                                  ("--help",), ("console", "--help")])
def test_a_closed_pipe_ends_the_command_without_a_traceback(args: tuple[str, ...]):
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already gone
    try:
        out = subprocess.run([sys.executable, "-m", "hub", *args], stdout=write_end, stderr=subprocess.PIPE,
                             text=True, timeout=60, env=NO_CONFIG)
    finally:
        os.close(write_end)
    assert "Traceback" not in out.stderr and "BrokenPipeError" not in out.stderr, out.stderr
    assert out.returncode in (0, 141), out.returncode


def test_a_mistyped_verb_gets_the_nearest_one_without_a_config_or_a_hub():
    out = _hub("sim", "pres", "--config", "/nonexistent/hub.toml")
    assert out.returncode == 2 and "config error" not in out.stderr, out.stderr
    assert "未知动作 unknown verb 'pres'; 是不是 did you mean 'hub sim press'?" in out.stderr


def test_a_mistyped_command_gets_the_nearest_one_too():
    """`hub staus` at a home visit: the command meant, in both languages, not argparse's English list."""
    out = _hub("staus", "--config", "/nonexistent/hub.toml")
    assert out.returncode == 2 and "config error" not in out.stderr, out.stderr
    assert "未知命令 unknown command 'staus'; 是不是 did you mean 'hub status'?" in out.stderr, out.stderr
    assert "setup-mode" in out.stderr  # and the list of commands
    assert _hub("Setup-mode", "--help").stderr.startswith("hub: 未知命令 unknown command 'Setup-mode'; 是不是 did "
                                                           "you mean 'hub setup-mode'?")


def test_a_verb_of_a_part_not_in_the_config_says_which_section_to_add(make_hub):
    hub = make_hub()  # no [zigbee], no [modem], no fall parts: the simulated board has what its config names
    for argv, needs in ((("zigbee", "gas", "on"), "[zigbee] enabled = true"), (("modem", "status"), "[modem] port"),
                        (("fall",), "the wearable's address as [fall] wearable_address"),
                        (("radar", "fall"), "the radar's serial port as [fall] radar_port")):
        verb = argv[0]
        out = hub.cli("sim", *argv)
        assert out.returncode == 1, out.stderr
        assert f"hub sim {verb}: 此终端未配置 not fitted on this hub" in out.stderr, out.stderr
        assert f"add {needs} to {hub.config}" in out.stderr, out.stderr
    out = hub.cli("sim", "bp", "185")  # a verb's own refusal, its name said once: a usage mistake, exit 2
    assert out.returncode == 2 and out.stderr.startswith("hub sim bp: 血压应为 30 ≤ 舒张压 < 收缩压 ≤ 300 need 30 <= "
                                                         "DIA < SYS"), out.stderr
    out = hub.cli("sim", "wellbeing")  # a nested answer reads as indented lines, like hub status, not JSON
    assert out.returncode == 0 and "\nso_far:\n  date: " in "\n" + out.stdout and "{" not in out.stdout, out.stdout
    assert "  hourly: 0, " in out.stdout, out.stdout


def test_a_verbs_argument_mistakes_exit_2_and_are_said_in_both_languages(make_hub):
    """`hub sim press --buton 27` exited 1 with argparse's English only, like a hub in trouble; a mistyped
    option now exits 2 as every other command-line mistake does, Mandarin first, with the option meant."""
    hub = make_hub()
    out = hub.cli("sim", "press", "--buton", "27")
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("hub sim press: 不认识的参数 unrecognized arguments: --buton 27; 是不是 did you "
                                 "mean --button?"), out.stderr
    assert "\n用法 usage: hub sim press [--button BUTTON] [--hold HOLD]" in out.stderr, out.stderr
    out = hub.cli("sim", "press", "--button", "99")
    assert out.returncode == 2 and out.stderr.startswith(
        "hub sim press: GPIO99 上没有呼叫按钮 no call button on GPIO99; 已配置 configured: GPIO17, GPIO27"), out.stderr
    out = hub.cli("sim", "temperature", "300")
    assert out.returncode == 2 and "温度应为 -40..120 °C" in out.stderr, out.stderr
    out = hub.cli("sim", "press", "--button", "x")
    assert out.returncode == 2 and "应为整数 argument --button: invalid int value: 'x'" in out.stderr, out.stderr
    assert hub.status()["open_alarms"] == []  # none of them pressed anything
