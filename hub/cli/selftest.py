"""`hub selftest`: check every fitted part and say what to do about each failure.

    hub selftest                       automatic checks, then guided ones (press, wave, listen)
    hub selftest --non-interactive     automatic checks only (the guided ones are listed as skipped)
    hub selftest --only temperature    one component
    hub selftest --json                one JSON object for tools
    hub selftest --simulate --config X check the simulated hardware of `hub run --simulate --config X`

While the hub runs, the checks run inside it (it owns the GPIO lines) through its control socket
(state_dir/control.sock, `selftest.*` commands); a test press of a call button then sends no call, but
the smoke alarm's test key sends a real test fire alarm to the platform (the step says so first). When
the hub is stopped this command opens the hardware itself. Exit 0 only if no check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from typing import Any

from hub.cli.common import add_config_arg, load_config_or_exit

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
MARK = {"pass": "通过 PASS", "fail": "失败 FAIL", "skip": "跳过 SKIP"}


def register(sub: Any) -> None:
    from hub.selftest.model import COMPONENTS

    p = sub.add_parser(
        "selftest",
        help="hardware self-test for technicians (自检)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arg(p)
    p.add_argument(
        "--only",
        metavar="COMPONENT",
        choices=COMPONENTS,
        help=f"check one component: {', '.join(COMPONENTS)}",
    )
    p.add_argument("--non-interactive", action="store_true", help="skip the checks a person must confirm")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--simulate", action="store_true", help="check a running `hub run --simulate`")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each guided action")
    p.set_defaults(func=run)


class Session:
    """Runs the checks in the running hub (remote) or here (local); the guided loop is the same."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.interrupted = False  # Ctrl-C in the guided steps
        self.config = load_config_or_exit(args)
        self.remote = self._hub_answers()
        self._local_env: Any = None

    def _hub_answers(self) -> bool:
        from hub.core.control import ControlError, request, socket_path

        try:
            request(socket_path(self.config.state_dir), {"cmd": "selftest.steps"}, timeout=5)
            return True
        except (ControlError, OSError, ValueError):
            return False

    def ask(self, message: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        """One `selftest.*` command on the running hub's control socket."""
        from hub.core.control import request, socket_path
        from hub.selftest.component import COMMAND_PREFIX

        return request(
            socket_path(self.config.state_dir),
            {**message, "cmd": COMMAND_PREFIX + message["cmd"]},
            timeout=timeout,
        )

    def local_env(self) -> Any:
        if self._local_env is None:
            from hub.core.simulation import real_hardware
            from hub.selftest.model import Env

            self._local_env = Env(self.config, real_hardware())
        return self._local_env

    def automatic(self) -> list[dict[str, str]]:
        if self.remote:
            return list(self.ask({"cmd": "auto", "only": self.args.only}, timeout=180)["results"])
        from hub.selftest.run import run_automatic

        return [r.as_dict() for r in asyncio.run(run_automatic(self.local_env(), self.args.only))]

    def guided(self, out: Any) -> list[dict[str, str]]:
        from hub.selftest.guided import GuidedStep, guided_steps, skipped_guided

        if self.remote:
            steps = [
                GuidedStep(**s) for s in self.ask({"cmd": "steps", "only": self.args.only})["steps"]
            ]
        else:
            steps = guided_steps(self.local_env(), self.args.only, hub_running=False)
        if self.args.non_interactive:
            return [r.as_dict() for r in skipped_guided(steps, "non-interactive: not asked")]
        results: list[dict[str, str]] = []
        try:
            self._guided_steps(steps, results, out)
        except (KeyboardInterrupt, EOFError):  # Ctrl-C ends the step at once: say so, and what it means
            self.interrupted = True
            number = len(results) + 1
            print(f"\n已中断 interrupted at step {number}/{len(steps)}: 测试按键已结束，现在按呼叫按钮会发出真实呼叫 "
                  "the test presses are over: a call button pressed now makes a real call", file=out, flush=True)
            results += [r.as_dict() for r in skipped_guided(steps[len(results):], "interrupted (Ctrl-C): not asked")]
        return results

    def _guided_steps(self, steps: list[Any], results: list[dict[str, str]], out: Any) -> None:
        from hub.selftest.guided import heard_result, watch_step

        for number, step in enumerate(steps, 1):
            print(f"\n[{number}/{len(steps)}] {step.prompt}", file=out, flush=True)
            if step.pin is None:
                self._say_test()
                answer = input("  [y/n] (y) > ").strip().lower() in ("", "y", "yes", "是", "听到了")
                results.append(heard_result(answer).as_dict())
                continue
            print(f"  等待中 waiting up to {self.args.timeout:.0f} s ...", file=out, flush=True)
            if self.remote:
                result = self.ask(
                    {
                        "cmd": "guided",
                        "index": steps.index(step),
                        "only": self.args.only,
                        "timeout": self.args.timeout,
                    },
                    timeout=self.args.timeout + 30,
                )
            else:
                result = asyncio.run(
                    watch_step(self.local_env(), step, self.args.timeout, False)
                ).as_dict()
            print(f"  {MARK[result['result']]}  {result['value']}", file=out, flush=True)
            results.append(result)

    def _say_test(self) -> None:
        if self.remote:
            self.ask({"cmd": "say_test"})
            return
        from hub.selftest.voice import say_test_prompt

        asyncio.run(say_test_prompt(self.config))


def run(args: argparse.Namespace) -> int:
    session = Session(args)
    if args.simulate and not session.remote:
        print(
            "没有运行中的模拟集线器 no simulated hub is running with this config: start "
            f"'hub run --simulate --config {session.config.path}' first",
            file=sys.stderr,
        )
        return EXIT_USAGE
    progress = sys.stderr if args.json else sys.stdout
    where = "running hub" if session.remote else "this process (hub stopped)"
    print(f"自检 self-test of {session.config.hub_id} via the {where}", file=progress, flush=True)
    try:
        results = session.automatic() + session.guided(progress)
    except Exception as exc:  # the control socket went away, hardware missing: say so, exit non-zero
        print(f"自检无法完成 self-test could not run: {exc}", file=sys.stderr)
        return EXIT_FAILED
    failed = sorted({r["component"] for r in results if r["result"] == "fail"})
    if args.json:
        print(
            json.dumps(
                {"ok": not failed and not session.interrupted, "failed_components": failed,
                 "interrupted": session.interrupted, "results": results}, ensure_ascii=False
            )
        )
    else:
        print_table(results, sys.stdout)
        if args.non_interactive:
            print("（已跳过需要人工确认的检查 guided checks skipped: --non-interactive）")
        if session.interrupted:
            print("自检未完成 self-test NOT finished (Ctrl-C): run it again for the steps not asked"
                  + (f"; 未通过 FAILED: {', '.join(failed)}" if failed else ""))
        else:
            print("全部通过 all checks passed" if not failed else f"未通过 FAILED: {', '.join(failed)}")
    if session.interrupted:
        return EXIT_INTERRUPTED
    return 0 if not failed else EXIT_FAILED


def print_table(results: list[dict[str, str]], out: Any, columns: int | None = None) -> None:
    """The results as a table when it fits the terminal's `columns`, else one short block per check (a
    technician on a phone's SSH app has about 50). A remedy goes on its own line under its check in both:
    as a fifth column it made every line as wide as the longest remedy."""
    columns = columns or shutil.get_terminal_size((120, 24)).columns  # not a terminal: a file, a pipe
    rows = [(r["component"], r["check"], MARK[r["result"]], r["value"], r["remedy"]) for r in results]
    headers = ("部件 component", "检查 check", "结果 result", "测量 measured")
    widths = [max([_width(h), *(_width(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    if sum(widths) + 2 * (len(widths) - 1) <= columns:
        indent = " " * (widths[0] + 2)
        print(_line(headers, widths), file=out)
        for row in rows:
            print(_line(row[:4], widths), file=out)
            if row[4]:
                print(f"{indent}→ 处理办法 remedy: {row[4]}", file=out)
        return
    indent = " " * (_width(MARK["pass"]) + 2)
    for component, check, mark, value, remedy in rows:
        print(f"{mark}  {component} · {check}", file=out)
        for extra in (value, f"处理办法 remedy: {remedy}" if remedy else ""):
            if extra:
                print(indent + extra, file=out)


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(_pad(c, w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _width(text: str) -> int:
    """Display width: CJK characters take two terminal columns."""
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
