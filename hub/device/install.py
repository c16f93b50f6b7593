"""`hub install`: put the hub on a Raspberry Pi OS system, idempotently.

The install is a plan of steps. Each step first checks whether its result is already there (reading
files under the target root), so a second run changes nothing. File steps write under `root` (so a test
can install into a temp dir); command steps run only on a live system (`root == /`) and are listed
otherwise. `--dry-run` changes nothing at all and prints the plan.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hub.device import system

USER = "eldercare"
GROUPS = ("gpio", "i2c", "dialout", "bluetooth", "audio")
PREFIX = Path("/opt/eldercare-hub")
VENV = PREFIX / "venv"
RELEASES = PREFIX / "releases"  # hub.update: versions/, current, previous (the unit starts current)
CONFIG_DIR = Path("/etc/eldercare-hub")
STATE_DIR = Path("/var/lib/eldercare-hub")
UNIT_NAME = "eldercare-hub.service"
# (bundle file, config path, state dir, maps an absolute path under the install root) -> None
ApplyBundle = Callable[[Path, Path, str, Callable[[Path], Path]], None]
UNIT_PATH = Path("/etc/systemd/system") / UNIT_NAME
WATCHDOG_DROPIN = Path("/etc/systemd/system.conf.d/eldercare-hub-watchdog.conf")
APT_PACKAGES = ("python3-venv", "python3-dev", "espeak-ng", "sox", "alsa-utils", "bluez", "i2c-tools", "zbar-tools",
                "baresip-core")
# systemd pets the SoC watchdog; if systemd or the kernel hangs, the board resets within 10 s.
WATCHDOG_TEXT = (
    "# Written by `hub install`: hardware watchdog (bcm2835_wdt).\n[Manager]\n"
    "RuntimeWatchdogSec=10s\nRebootWatchdogSec=2min\n"
)


@dataclass
class Step:
    title: str
    done: Callable[[], bool]  # already in place?
    apply: Callable[[], None] | None = None  # file work under root (always safe to run there)
    command: list[str] = field(default_factory=list)  # live-system work (root == /)


@dataclass
class Outcome:
    title: str
    state: str  # "ok" (already), "done", "skipped" (command not run off-system), "would"


class Installer:
    def __init__(
        self,
        source: Path,
        root: Path = Path("/"),
        bundle: Path | None = None,
        dry_run: bool = False,
        apt: bool = True,
        run: Callable[[list[str]], None] | None = None,
        apply_bundle: ApplyBundle | None = None,
    ) -> None:
        # `hub install --bundle` provisions through the installer's tool (hub.provision), handed in by
        # the CLI so that this capability does not import another.
        self.source, self.root, self.bundle = source, root, bundle
        self.apply_bundle = apply_bundle
        self.dry_run, self.apt = dry_run, apt
        self.live = root.resolve() == Path("/")
        self._run = run or system.run_checked

    def at(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    # --- what is already there ------------------------------------------------------------------
    def _group_members(self) -> dict[str, set[str]]:
        return system.group_members(self.at(Path("/etc/group")))

    def source_stamp(self) -> str:
        """Hash of the package sources: reinstall into the venv only when they changed."""
        digest = hashlib.sha256()
        for pkg in ("pyproject.toml", "hub", "drivers", "sensors", "voice"):
            base = self.source / pkg
            files = (
                [base]
                if base.is_file()
                else sorted(
                    p for p in base.rglob("*") if p.is_file() and p.suffix in (".py", ".toml", ".json")
                )
            )
            for path in files:
                digest.update(str(path.relative_to(self.source)).encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    # --- the plan -------------------------------------------------------------------------------
    def plan(self) -> list[Step]:
        steps: list[Step] = []
        missing_apt = system.apt_missing(APT_PACKAGES, self.live)
        if self.apt:
            steps.append(
                Step(
                    f"apt packages ({', '.join(APT_PACKAGES)})",
                    lambda: not system.apt_missing(APT_PACKAGES, self.live),
                    command=["apt-get", "install", "-y", "--no-install-recommends", *missing_apt],
                )
            )
        for group in GROUPS:
            steps.append(
                Step(
                    f"group {group}",
                    lambda g=group: g in self._group_members(),  # type: ignore[misc]
                    command=["groupadd", "--system", group],
                )
            )
        steps.append(
            Step(
                f"user {USER} (groups {', '.join(GROUPS)})",
                lambda: system.has_user(self.at(Path("/etc/passwd")), USER),
                command=[
                    "useradd",
                    "--system",
                    "--user-group",
                    "--home-dir",
                    str(STATE_DIR),
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    "--groups",
                    ",".join(GROUPS),
                    USER,
                ],
            )
        )
        steps.append(
            Step(
                "user in its groups",
                lambda: (
                    all(USER in m for g, m in self._group_members().items() if g in GROUPS)
                    and all(g in self._group_members() for g in GROUPS)
                ),
                command=["usermod", "--append", "--groups", ",".join(GROUPS), USER],
            )
        )
        python = self.at(VENV / "bin/python")
        steps.append(Step(f"venv {VENV}", python.exists, command=["python3", "-m", "venv", str(VENV)]))
        stamp_file = self.at(PREFIX / "installed.stamp")
        stamp = self.source_stamp()
        steps.append(
            Step(
                f"hub package into the venv (sources {stamp})",
                lambda: system.read_text(stamp_file) == stamp,
                # On a 64-bit Pi the `pi` extra: lgpio's wheel, the GPIO the hub's lines use (drivers/gpiochip.py)
                command=[str(VENV / "bin/pip"), "install", "--upgrade",
                         f"{self.source}[pi]" if platform.machine() == "aarch64" else str(self.source)],
            )
        )
        if self.live:  # the stamp is written only once pip has really run
            steps.append(
                Step(
                    "install stamp",
                    lambda: system.read_text(stamp_file) == stamp,
                    apply=lambda: system.write(stamp_file, stamp.encode(), 0o644),
                )
            )
        current = self.at(RELEASES / "current")
        # What `hub install` installed is what runs: a version an update put under versions/ since is
        # no longer current (it stays there until an update prunes it).
        steps.append(Step(f"update root {RELEASES} ({USER}'s; current -> ../venv)",
                          lambda: current.is_symlink() and os.readlink(current) == "../venv",
                          apply=lambda: system.make_releases(self.at(RELEASES), USER)))
        steps.append(self._file_step(PREFIX / "docs/install.md", self.source / "docs/install.md", 0o644))
        steps.append(self._file_step(UNIT_PATH, self.source / "systemd" / UNIT_NAME, 0o644))
        watchdog = self._text_step(WATCHDOG_DROPIN, WATCHDOG_TEXT, 0o644)
        watchdog.command = ["systemctl", "daemon-reexec"]  # the manager reads RuntimeWatchdogSec at start
        steps.append(watchdog)
        steps.append(
            Step(
                f"config directory {CONFIG_DIR} (root:{USER} 0770)",
                self._config_dir_ok,
                apply=self._make_config_dir,
            )
        )
        steps.append(self._config_step())
        raspi = self.at(Path("/usr/bin/raspi-config"))
        if raspi.exists():
            steps.append(
                Step(
                    "I2C on (raspi-config)", lambda: False, command=["raspi-config", "nonint", "do_i2c", "0"]
                )
            )
            steps.append(
                Step(
                    "UART on, serial console off (raspi-config)",
                    lambda: False,
                    command=[
                        "sh",
                        "-c",
                        "raspi-config nonint do_serial_hw 0 && raspi-config nonint do_serial_cons 1",
                    ],
                )
            )
        wants = self.at(Path("/etc/systemd/system/multi-user.target.wants") / UNIT_NAME)
        steps.append(
            Step(
                "service enabled",
                lambda: wants.is_symlink(),
                apply=None if self.live else lambda: system.symlink(wants, UNIT_PATH),
                command=["systemctl", "enable", UNIT_NAME],
            )
        )
        if self.live:
            steps.append(
                Step(
                    "systemd reloaded, hub (re)started",
                    lambda: False,
                    command=["sh", "-c", "systemctl daemon-reload && systemctl restart " + UNIT_NAME],
                )
            )
        return steps

    def _config_dir_ok(self) -> bool:
        path = self.at(CONFIG_DIR)
        if not path.is_dir():
            return False
        st = path.stat()
        return (st.st_mode & 0o777) == 0o770 and (not self.live or st.st_gid == system.gid(USER))

    def _make_config_dir(self) -> None:
        path = self.at(CONFIG_DIR)
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o770)
        gid = system.gid(USER)
        if self.live and gid is not None:  # the service reads and rewrites its config through the group
            os.chown(path, 0, gid)

    def _file_step(self, target: Path, src: Path, mode: int) -> Step:
        return self._text_step(target, src.read_text(encoding="utf-8"), mode)

    def _text_step(self, target: Path, text: str, mode: int) -> Step:
        path = self.at(target)
        return Step(f"{target}", lambda: system.read_text(path) == text,
                    apply=lambda: system.write(path, text.encode(), mode))

    def _config_step(self) -> Step:
        config = self.at(CONFIG_DIR / "hub.toml")
        if self.bundle is not None:
            bundle, apply_bundle = self.bundle, self.apply_bundle
            if apply_bundle is None:
                raise ValueError("a bundle needs apply_bundle (hub.provision.writer.install_bundle)")

            def provision() -> None:
                apply_bundle(bundle, CONFIG_DIR / "hub.toml", str(STATE_DIR), self.at)

            return Step(f"{CONFIG_DIR}/hub.toml from {bundle.name}", lambda: False, apply=provision)
        example = self.source / "config/hub.example.toml"
        # Never overwrite a provisioned config; a fresh box gets the example until `hub provision`.
        return Step(
            f"{CONFIG_DIR}/hub.toml (example until `hub provision`)",
            config.exists,
            apply=lambda: system.write(
                config,
                example.read_bytes() if example.exists() else _default_config(),
                0o600,
                service_owned=True,
            ),
        )

    def execute(self, report: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for step in self.plan():
            if step.done():
                outcome = Outcome(step.title, "ok")
            elif self.dry_run:
                outcome = Outcome(step.title, "would")
            elif self.live and step.command:
                if step.apply:
                    step.apply()
                self._run(step.command)
                outcome = Outcome(step.title, "done")
            elif step.apply:
                step.apply()
                outcome = Outcome(step.title, "done")
            else:
                outcome = Outcome(step.title + ": " + " ".join(step.command), "skipped")
            outcomes.append(outcome)
            report(outcome)
        return outcomes


def _default_config() -> bytes:
    from hub.config import toml_out
    from hub.config.loader import validate

    return toml_out.dumps({"hub": {"id": validate({})["hub"]["id"]}}).encode()
