"""`hub provision --simulate` as an installer sees it over SSH: in a tmux pane of 80×24, against a real
mosquitto and a stand-in platform that acknowledges the test call (issue #20 acceptance). The answers are
typed with send-keys, each mistake among them — a demo hub id, the broker host with its port, a GPIO pin
already given to a button, an I2C address typed "44", a modem with no duty SMS numbers, an espeak voice this
espeak-ng cannot read Mandarin with — and the pane (capture-pane) must show each caught at its own
question: the plain bilingual message right after the answer, then the same question again with its
default unchanged. The wizard never goes back to 1/16, and the config it writes passes `hub config check`
and holds every answer (the I2C address as 0x44). Waits are on screen contents, with deadlines."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config.loader import load
from tests.hubproc import ROOT, broker, env
from tests.test_provision_mistakes import MANDARIN_UNREADABLE, _espeak_refuses
from tests.test_provision_wizard import Platform

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300),
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed (apt-get install tmux)")]

WIDTH, HEIGHT = 80, 24  # an installer's SSH window
EXITED = "[wizard exited with status]"


def width(text: str) -> int:
    """Columns on a terminal: Han characters and full-width punctuation take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class Wizard:
    """The wizard alone in a tmux server of its own; `expect` reads the pane's whole history, joined."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.socket = f"wizard-{cwd.name}-{os.getpid()}-{time.monotonic_ns()}"
        self.pos = 0
        self.tmux("new-session", "-d", "-s", "w", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", str(cwd),
                  # a shell waits for the wizard and prints its exit status (tmux 3.3 can leave an exited
                  # pane undead for a long while), then holds the pane until kill-server
                  f"{shlex.join(command)}; echo \"{EXITED} $?\"; exec sleep 3600",
                  ";", "set-option", "-t", "w", "history-limit", "20000")

    def tmux(self, *args: str) -> str:
        clean = {k: v for k, v in env().items() if k not in ("COLUMNS", "LINES", "TMUX")}  # the pane's size
        return subprocess.run(["tmux", "-f", "/dev/null", "-L", self.socket, *args], capture_output=True,
                              text=True, check=True, timeout=20, env=clean, cwd=ROOT).stdout

    def screen(self, joined: bool = True) -> str:
        return self.tmux("capture-pane", "-p", *(["-J"] if joined else []), "-t", "w", "-S", "-", "-E", "-")

    def visible(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "w")

    def expect(self, pattern: str, timeout: float = 30.0, at_once: bool = False) -> re.Match[str]:
        """Waits for `pattern` after what was read so far; `at_once`: it must start right there (nothing
        else printed in between, only white space)."""
        regex = re.compile(r"\s*" + pattern if at_once else pattern)
        end = time.monotonic() + timeout
        while True:
            text = self.screen()
            match = regex.match(text, self.pos) if at_once else regex.search(text, self.pos)
            if match:
                self.pos = match.end()
                return match
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {pattern!r}; after what was read:\n{text[self.pos:]}"
                                     f"\n--- the whole pane:\n{text[-3000:]}")
            time.sleep(0.1)

    def type(self, text: str) -> None:
        if text:
            self.tmux("send-keys", "-t", "w", "-l", text)
        self.tmux("send-keys", "-t", "w", "Enter")

    def answer(self, prompt: str, text: str = "") -> None:
        self.expect(prompt)
        self.type(text)

    def mistake(self, prompt: str, wrong: str, message: str, again: str, right: str) -> None:
        """Types `wrong` at `prompt`; the refusal (its words `message`, over as many lines as it takes)
        must come right after it, then `again` (the same question, its default unchanged), where `right`
        is typed."""
        self.answer(prompt, wrong)
        words = r"\s+".join(re.escape(word) for word in message.split())
        self.expect(re.escape(wrong) + r"\s*\n  ✗ (?:.*\n)*?.*" + words + r".*\n(?:    .*\n)*", at_once=True)
        self.expect(again, at_once=True)
        self.type(right)

    def exit_status(self, timeout: float = 60.0) -> int:
        return int(self.expect(re.escape(EXITED) + r" (\d+)", timeout).group(1))

    def close(self) -> None:
        subprocess.run(["tmux", "-f", "/dev/null", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=20)
        Path(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}", self.socket).unlink(missing_ok=True)


@pytest.fixture
def setting(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    with broker(tmp_path) as port:
        yield port, tmp_path / "etc" / "hub.toml"


def test_the_wizard_in_tmux_catches_each_mistake_at_its_own_question(setting, tmp_path: Path) -> None:
    port, out = setting
    voice_mistake = _espeak_refuses(MANDARIN_UNREADABLE)
    platform = Platform(port, "sq-0042")
    w = Wizard([sys.executable, "-m", "hub", "provision", "--simulate", "--config", "etc/hub.toml",
                "--state-dir", "state"], tmp_path)  # short paths, as /etc/eldercare/hub.toml on a unit
    try:
        w.mistake(r"\[1/16\].*\n.*hub id.*: ", "demo-0001", "'demo-0001' 是演示编号 is a demo id",
                  r"  .*hub id.*: ", "sq-0042")
        w.answer(r"\[2/16\].*\n.*resident_ref.*: ", "R-2024-1")
        w.answer(r"community_ref.*: ", "SC-7")
        host = f"127.0.0.1:{port}"
        w.mistake(r"\[4/16\].*\n.*host \[localhost\]: ", host,
                  f"'{host}' 里有端口 has a port in it: write the host only ('127.0.0.1') and put the port in "
                  "the port question",
                  r"  host \[localhost\]: ", "127.0.0.1")
        w.answer(r"\[5/16\].*\n.*port \[8883\]: ", str(port))
        w.answer(r"use TLS \(y/n\) \[n\]: ")
        w.answer(r"username \[hub-sq-0042\]: ")
        w.answer(r"\[8/16\].*\n.*password: ", "Kx7-pR2m-Wq9t")
        w.answer(r"\[9/16\].*\n.*how many \[4\]: ", "3")
        w.answer(r"按钮 1 GPIO \[17\]: ")
        w.answer(r"kind .*\[emergency\]: ")
        w.mistake(r"按钮 2 GPIO \[27\]: ", "17", "GPIO17 已经给了按钮 1，请换一个 / GPIO17 is already used by "
                  "button 1", r"  按钮 2 GPIO \[27\]: ", "")
        w.answer(r"kind .*\[health\]: ")
        w.answer(r"按钮 3 GPIO \[22\]: ")
        w.answer(r"kind .*\[service\]: ", "family")
        w.answer(r"\[10/16\].*\n.*fitted \(y/n\) \[y\]: ")
        w.answer(r"GPIO \[24\]: ")
        w.answer(r"\[11/16\].*\n.*kind \(analog.*\[analog\]: ", "none")
        w.answer(r"\[12/16\].*\n.*part .*\[sht3x\]: ")
        w.answer(r"address \(hex\) \[0x44\]: ", "44")  # written without 0x: 0x44, never decimal 44
        w.answer(r"\[13/16\].*\n.*power-good GPIO \[-\]: ")
        w.answer(r"radar port \[-\]: ")
        w.answer(r"modem AT port \[-\]: ", "/dev/ttyUSB2")
        w.mistake(r"duty SMS numbers.*: ", "", "a modem needs at least one duty number",
                  r"  .*duty SMS numbers.*: ", "+8613800138000, 13900139000")
        if voice_mistake:
            w.mistake(r"\[14/16\].*\n.*Mandarin voice.*\[auto\]: ", MANDARIN_UNREADABLE,
                      "不能用 'cmn' 读普通话 cannot read Mandarin with 'cmn'",
                      r"  .*Mandarin voice.*\[auto\]: ", "")
        else:
            w.answer(r"\[14/16\].*\n.*Mandarin voice.*\[auto\]: ")
        w.expect(r"\[15/16\] 确认 confirm\s+hub sq-0042 → 127\.0\.0\.1:" + str(port) + r", password \*\*\*\*\*\*",
                 at_once=True)
        w.answer(r"write .*\(y/n\) \[y\]: ")
        w.expect(r"\[16/16\]")
        w.answer(r"pair a BLE meter now \(y/n\) \[n\]: ")
        w.expect(r"ack by operator-7", timeout=120)
        w.answer(r"did you hear the test prompt \(y/n\) \[y\]: ")
        w.expect("every live check passed", timeout=120)
        status = w.exit_status()
        joined, final = w.screen(), w.visible()
    finally:
        w.close()
        platform.close()
    assert status == 0, joined[-2000:]

    steps = [int(n) for n in re.findall(r"^\[(\d+)/16\]", joined, re.MULTILINE)]
    assert steps == list(range(1, 17)), steps  # each question once, in order: never started over
    assert "Kx7-pR2m-Wq9t" not in joined and "Traceback" not in joined
    assert "bundle refused" not in joined and "hardware." not in joined and '{"' not in joined
    print(final)  # the last screen, as the installer sees it (docs/install.md)
    for line in joined.splitlines():  # 80 columns: no question wraps, its answer has room on its line
        assert width(line) < WIDTH, f"wraps on 80 columns: {line!r}"
        prompt = re.match(r"  [^✓].*?(?:\]|password|_ref|\)): ", line)
        room = 4 if "(y/n)" in line else 24  # y/n, or a host name, a list of phone numbers
        assert prompt is None or width(prompt.group(0)) <= WIDTH - room, f"no room to answer: {line!r}"

    config = load(out)
    assert config.hub_id == "sq-0042"
    assert (config["hub"]["resident_ref"], config["hub"]["community_ref"]) == ("R-2024-1", "SC-7")
    assert (config["mqtt"]["host"], config["mqtt"]["port"]) == ("127.0.0.1", port)
    assert config["mqtt"]["username"] == "hub-sq-0042" and config["mqtt"]["password"] == "Kx7-pR2m-Wq9t"
    assert [(b["pin"], b["kind"]) for b in config["buttons"]] == [(17, "emergency"), (27, "health"),
                                                                  (22, "family")]
    assert config["motion"]["pin"] == 24 and config["smoke"]["kind"] == "none"
    assert config["temperature"]["part"] == "sht3x" and config["temperature"]["address"] == 0x44
    assert "address = 0x44" in out.read_text()
    assert config["modem"]["port"] == "/dev/ttyUSB2"
    assert config["modem"]["sms_numbers"] == ["+8613800138000", "13900139000"]
    assert config["voice"]["espeak_voice"] == "auto"
    check = subprocess.run([sys.executable, "-m", "hub", "config", "check", "--config", str(out)],
                           capture_output=True, text=True, env=env(), cwd=ROOT, timeout=120)
    assert check.returncode == 0, check.stderr
