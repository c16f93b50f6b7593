"""The interactive provisioning wizard: one question at a time, Mandarin with English, a default in
brackets (Enter keeps it) and a progress line. Each answer is checked as it is given (hub.provision.answers:
the bundle schema, the hub's own config rules, pins already taken) and asked again at once when wrong;
the answers become a bundle, checked and written exactly like `hub provision --bundle`. Should that whole
check still refuse something (an I2C part with its bus pins given to a button), only the question that
owns the field is asked again, every other answer kept. Then the live check runs on the hub started with
the new config, and ends with a sentence.
"""

from __future__ import annotations

import getpass
import shutil
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from hub.config.loader import ConfigError
from hub.provision import questions
from hub.provision.answers import pin_name
from hub.provision.bundle import BundleError, check
from hub.provision.live_check import LiveCheck

if TYPE_CHECKING:
    from hub.provision.writer import Rendered

STEPS = len(questions.STEPS) + 2  # the questions, then confirm and live check
SECRET_KEPT = "******"


class Prompter:
    def __init__(
        self,
        read: Callable[[str], str] = input,
        read_secret: Callable[[str], str] = getpass.getpass,
        out: TextIO = sys.stdout,
    ) -> None:
        self.read, self.read_secret, self.out = read, read_secret, out
        self.step = 0

    def next(self, title: str) -> None:
        self.step += 1
        self.say(f"\n[{self.step}/{STEPS}] {title}")

    def say(self, text: str) -> None:
        """Long lines are wrapped between words to the terminal's width (80 columns over most SSH
        sessions), continued under their first word: the terminal would cut a word in two."""
        columns = shutil.get_terminal_size((80, 24)).columns
        lines = [part for line in text.split("\n") for part in wrap(line, columns)]
        print("\n".join(lines), file=self.out, flush=True)

    def ask(
        self,
        question: str,
        default: Any = None,
        check: Callable[[str], Any] | None = None,
        secret: bool = False,
    ) -> Any:
        """Re-asks until `check` accepts (it returns the parsed value or raises ValueError). A secret's
        default is never shown: "[******]", and Enter keeps it."""
        shown = "" if default in (None, "") else f" [{SECRET_KEPT if secret else default}]"
        while True:
            raw = (self.read_secret if secret else self.read)(f"  {question}{shown}: ").strip()
            if not raw and default is not None:
                if secret:
                    return default
                raw = str(default)
            try:
                return check(raw) if check else raw
            except BundleError as exc:
                self.say(f"  ✗ {exc.problem}")
            except ConfigError as exc:
                self.say(f"  ✗ {exc.problem}")
            except ValueError as exc:
                self.say(f"  ✗ {exc}")

    def yes(self, question: str, default: bool) -> bool:
        return bool(self.ask(question + " (y/n)", "y" if default else "n", _yes_no))


def width(text: str) -> int:
    """Terminal columns: Han characters and full-width punctuation take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(line: str, columns: int) -> list[str]:
    """`line` in pieces narrower than `columns`, broken at spaces; the pieces after the first are
    indented two more than the line (under the text after "✗ "). A word wider than the room is left
    whole (the terminal wraps it)."""
    if width(line) < columns:
        return [line]
    body = line.lstrip(" ")
    indent = " " * (len(line) - len(body) + 2)
    pieces, current = [], line[: len(line) - len(body)]
    for word in body.split(" "):
        if current.strip() and width(current + " " + word) >= columns:
            pieces.append(current)
            current = indent + word
        else:
            current = f"{current} {word}" if current.strip() else current + word
    pieces.append(current)
    return pieces


def _yes_no(raw: str) -> bool:
    if raw.lower() in ("y", "yes", "是", "1"):
        return True
    if raw.lower() in ("n", "no", "否", "0"):
        return False
    raise ValueError("请回答 y 或 n / answer y or n")


def _ask_step(p: Prompter, index: int, draft: questions.Draft) -> None:
    p.step = index
    p.next(questions.STEPS[index].title)
    questions.STEPS[index].ask(p, draft)


def _plain(exc: BundleError) -> str:
    """The refusal in the words of the question: "按钮 2 button 2: GPIO3 ...", not a bundle path."""
    zh, en = pin_name(exc.field)
    where = exc.field if zh == exc.field else f"{zh} {en}"
    return f"{where}: {exc.problem}"


def summary(rows: list[dict[str, str]]) -> list[str]:
    """The live check's result in sentences for the installer (the rows go to system.provisioned)."""
    lines = []
    for row in rows:
        if row["component"] == "call":
            lines.append("✓ 测试呼叫已送达，平台已确认 / test call delivered and acknowledged\n"
                         f"    ({row['value']})" if row["result"] == "pass" else
                         f"✗ 测试呼叫没有得到平台确认 / the test call was not acknowledged: {row['value']}. "
                         f"{row['remedy']}")
        elif row["result"] == "fail":
            lines.append(f"✗ {row['component']}: {row['check']}: {row['value']}. 处理 remedy: {row['remedy']}")
    failed = [r for r in rows if r["result"] == "fail"]
    lines.append("✓ 全部检查通过，可以交付使用 / every live check passed: the hub is ready" if not failed else
                 f"✗ {len(failed)} 项未通过 check(s) failed: {', '.join(r['component'] for r in failed)}; "
                 "修好后运行 fix them, then run 'hub selftest'")
    return lines


def _previous(out: Path) -> dict[str, Any]:
    from hub.config.loader import ConfigError, load

    try:
        return load(out).data
    except ConfigError:
        return {}


def run_wizard(
    out: Path, state_dir: str, simulate: bool, live_check: bool, prompter: Prompter | None = None
) -> int:
    from hub.provision import writer

    p = prompter or Prompter()
    p.say(
        "居家养老智能终端 安装向导 / Eldercare hub provisioning wizard\n"
        "回车使用默认值 / Enter keeps the default in [brackets]"
    )
    try:
        answered = _answer(p, out, state_dir)
    except (KeyboardInterrupt, EOFError):  # Ctrl-C, Ctrl-D at a question: no traceback, say what is left
        p.say(f"\n已中断 interrupted at question {p.step}/{STEPS}: 未写入 nothing written, "
              f"{out} {'unchanged' if out.exists() else 'not created'}; 重新运行 run 'hub provision' again to "
              "start over")
        return 130
    if answered is None:
        p.say("未写入 nothing written")
        return 1
    replaced = out.exists()
    writer.write(answered, out)
    p.say(f"  ✓ 已写入 written ({writer.kept_words(out, replaced)})")
    try:
        return _live_check(p, out, simulate, live_check, answered)
    except (KeyboardInterrupt, EOFError):
        p.say(f"\n现场检查已中断 live check interrupted: the config is written ({out}); "
              "start the service, then run 'hub selftest'")
        return 130


def _answer(p: Prompter, out: Path, state_dir: str) -> Rendered | None:
    """Every question, the final check, and the installer's yes: the rendered config, or None (no)."""
    from hub.provision import writer

    draft = questions.start(_previous(out))
    for i in range(len(questions.STEPS)):
        _ask_step(p, i, draft)
    while True:
        bundle = questions.bundle_of(draft)
        try:
            check(bundle)
            rendered = writer.render(bundle, out, state_dir=str(Path(state_dir).resolve()))
            break
        except BundleError as exc:
            i = questions.owner(exc.field.replace("(bundle)", ""))
            draft["only"] = exc.field
            p.say(f"  ✗ {_plain(exc)}\n    请重新回答这一项，其他回答都保留 / please answer this question again; "
                  "every other answer is kept")
            _ask_step(p, i, draft)
    p.step = len(questions.STEPS)
    p.next("确认 confirm")
    p.say(
        f"  hub {bundle['hub']['id']} → {bundle['broker']['host']}:{bundle['broker']['port']}, password ******\n"
        f"  已安装 fitted: {', '.join(sorted(rendered.fitted))}"
    )
    return rendered if p.yes(f"写入 write {out}", True) else None


def _live_check(p: Prompter, out: Path, simulate: bool, live_check: bool, rendered: Rendered) -> int:
    from hub.provision import writer

    p.next("现场检查 live check")
    rows: list[dict[str, str]] | None = None
    fitted = dict(rendered.fitted)
    if live_check:
        with LiveCheck(out, simulate, p) as live:
            meters = live.pair_meters()
            if meters:
                fitted["ble_meters"] = meters
            rows = live.run()
            writer.write_record(out, "wizard", fitted, rows)
            live.publish_report()
        failed = [r for r in rows if r["result"] == "fail"]
        for line in summary(rows):
            p.say("  " + line)
        return 0 if not failed else 1
    writer.write_record(out, "wizard", fitted, None)
    p.say("  跳过 skipped (--skip-live-check); run 'hub selftest' after starting the service")
    return 0
