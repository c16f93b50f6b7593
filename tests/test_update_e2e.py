"""Signed updates end to end (issue 15 item 2): a real wheel of this project served over HTTPS, a real
mosquitto, the hub run through `{root}/current` by a stand-in for systemd that runs the boot guard and
restarts it, and the platform's `cmd/update` over the broker."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hubproc import broker, write_config
from support import Subscriber, wait_until
from updatekit import ReleaseServer, Service, build_wheel, make_cert

from hub.update.download import sha256_of
from hub.update.signing import generate, sign

pytestmark = pytest.mark.slow
HUB = "t-update"
CMD = f"eldercare/v1/{HUB}/cmd/"
BAD_SELFTEST = ("drivers/sht3x.py", '"high": 0x2400', '"high": 0x2401')  # a release that misreads the SHT3x
CANNOT_START = ("hub/cli/run.py", "asyncio.run(Hub(config, hardware).run())",
                'raise SystemExit("this release cannot start")')


@pytest.fixture(scope="session")
def release_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The signed release wheels, built once per run (minutes of CPU) and shared by the parallel workers
    (the first one to get here builds them under a lock; the others read its index); read-only for the tests."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # this run's, for every worker
    index = shared / "releases.json"
    with open(shared / "releases.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not index.exists():
            work = shared / "releases"
            work.mkdir()
            pem, public = generate()
            (work / "key.pem").write_bytes(pem)
            cert, key = make_cert(work)
            wheels = {"good": build_wheel(work, "0.2.0"), "bad_selftest": build_wheel(work, "0.2.1", BAD_SELFTEST),
                      "cannot_start": build_wheel(work, "0.2.2", CANNOT_START), "older": build_wheel(work, "0.0.9")}
            index.write_text(json.dumps({"public": public, "cert": str(cert), "key": str(key), "work": str(work),
                                         "wheels": {k: str(v) for k, v in wheels.items()}}))
    built = json.loads(index.read_text())
    work = Path(built["work"])
    return {"pem": (work / "key.pem").read_bytes(), "public": built["public"], "cert": Path(built["cert"]),
            "key": Path(built["key"]), "wheels": {k: Path(v) for k, v in built["wheels"].items()}, "work": work}


@pytest.fixture
def release_kit(release_build: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The wheels, and a release server of this test's own: its request log holds this test's requests
    only, and a `cut_after` set by one test never reaches another (any order, -k, parallel workers)."""
    server = ReleaseServer(release_build["work"] / "wheels", release_build["cert"], release_build["key"])
    yield {**release_build, "server": server}
    server.close()


class Rig:
    def __init__(self, tmp: Path, port: int, kit: dict[str, Any], start: bool = True, **update: Any) -> None:
        self.root = tmp / "releases"
        self.root.mkdir()
        (self.root / "current").symlink_to(sys.prefix)  # as `hub install` leaves it: the base venv
        settings = {"public_key": kit["public"], "root": str(self.root), "base_venv": sys.prefix,
                    "ca": str(kit["cert"]), "health_timeout_s": 60, "max_starts": 3, **update}
        extra = "\n[update]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
        self.config = write_config(tmp, port, HUB, extra)
        self.kit = kit
        self.sub = Subscriber(port, f"eldercare/v1/{HUB}/#")
        self.service = Service(self.root, self.config)
        if start:
            self.service.start()

    def wait_online(self) -> None:
        assert self.sub.wait_for(lambda m: m[1].endswith("/status") and isinstance(m[2], dict)
                                 and m[2].get("state") == "online", 60), self.service.log_tail()
        sock = self.config.parent / "state" / "control.sock"  # it listens once every component started
        end = time.monotonic() + 30
        while not sock.exists():
            assert time.monotonic() < end, self.service.log_tail()
            time.sleep(0.1)

    def command(self, name: str, body: dict[str, Any]) -> None:
        self.sub.publish(CMD + name, json.dumps(body))

    def update_body(self, wheel: Path, downgrade_from: str = "", **override: Any) -> dict[str, Any]:
        version = wheel.name.split("-")[1]
        digest, size = sha256_of(wheel), wheel.stat().st_size
        return {"version": version, "url": self.kit["server"].url(wheel.name), "sha256": digest, "size": size,
                "signature": sign(self.kit["pem"], version, digest, size, downgrade_from),
                **({"downgrade_from": downgrade_from} if downgrade_from else {}), **override}

    def stages(self, version: str) -> list[str]:
        """In delivery order, each event once: delivery is at least once (an event sent just before the
        restart whose PUBACK the old process did not see is sent again by the new one)."""
        seen: set[str] = set()
        events = [e for e in self.sub.events("system.update") if e["data"]["version"] == version]
        return [e["data"]["stage"] for e in events if not (e["id"] in seen or seen.add(e["id"]))]

    def outcome(self, version: str, stage: str, timeout: float = 120) -> dict[str, Any]:
        found = self.sub.wait_event("system.update", timeout, version=version, stage=stage)
        assert found, f"no {stage} for {version}: {self.stages(version)}\n{self.service.log_tail()}"
        return found

    def status(self) -> dict[str, Any]:
        done = subprocess.run([str(self.root / "current" / "bin" / "hub"), "status", "--json", "--config",
                               str(self.config)], capture_output=True, text=True, timeout=60)
        return json.loads(done.stdout)

    def close(self) -> None:
        self.service.stop()
        self.sub.close()


@pytest.fixture
def rig(tmp_path: Path, release_kit: dict[str, Any]) -> Iterator[Any]:
    made: list[Rig] = []
    with broker(tmp_path) as port:
        def make(**update: Any) -> Rig:
            made.append(Rig(tmp_path, port, release_kit, **update))
            made[-1].wait_online()
            return made[-1]
        yield make
        for r in made:
            r.close()


def test_healthy_update_resumes_a_cut_download_and_switches(rig: Any, release_kit: dict[str, Any]) -> None:
    r = rig()
    wheel = release_kit["wheels"]["good"]
    server = release_kit["server"]
    server.cut_after = wheel.stat().st_size // 2
    r.command("update", r.update_body(wheel))
    healthy = r.outcome("0.2.0", "healthy")
    assert healthy["data"]["from_version"] == "0.1.0"
    stages = [s for s in r.stages("0.2.0") if s != "downloading"]
    assert stages == ["verifying", "installing", "restarting", "healthy"]
    progress = [e["data"]["progress"] for e in r.sub.events("system.update") if e["data"]["stage"] == "downloading"]
    assert progress[0] == 0 and progress[-1] == 100 and progress == sorted(progress), progress
    sent = [(rng, status) for path, rng, status in server.requests if path.endswith(wheel.name)]
    assert sent[0] == (None, 200) and sent[1][1] == 206 and sent[1][0].startswith("bytes="), sent
    assert Path(r.root / "current").resolve() == (r.root / "versions" / "0.2.0" / "venv").resolve()
    assert Path(r.root / "previous").resolve() == Path(sys.prefix).resolve()
    wait_until(lambda: not (r.root / "update.json").exists(), 15, "the marker cleared (after the report)")
    assert r.status()["version"] == "0.2.0"
    assert r.service.starts[-1].endswith("versions/0.2.0/venv")


def test_update_that_fails_its_selftest_is_rolled_back(rig: Any, release_kit: dict[str, Any]) -> None:
    r = rig()
    r.command("update", r.update_body(release_kit["wheels"]["bad_selftest"]))
    back = r.outcome("0.2.1", "rolled_back")
    assert back["data"]["reason"].startswith("self-test failed: temperature"), back
    assert r.stages("0.2.1")[-2:] == ["restarting", "rolled_back"]
    assert Path(r.root / "current").resolve() == Path(sys.prefix).resolve()
    assert r.status()["version"] == "0.1.0"
    wait_until(lambda: not (r.root / "update.json").exists(), 15, "the marker cleared (after the report)")


def test_version_that_cannot_start_is_rolled_back_by_the_boot_guard(rig: Any, release_kit: dict[str, Any]) -> None:
    r = rig(max_starts=2)
    r.command("update", r.update_body(release_kit["wheels"]["cannot_start"]))
    back = r.outcome("0.2.2", "rolled_back")
    assert "did not become healthy in 2 starts" in back["data"]["reason"]
    assert sum(s.endswith("versions/0.2.2/venv") for s in r.service.starts) == 2
    assert r.service.starts[-1] == sys.prefix
    assert r.status()["version"] == "0.1.0"


def test_bad_signature_and_wrong_digest_are_refused_and_nothing_is_installed(rig: Any,
                                                                              release_kit: dict[str, Any]) -> None:
    r = rig()
    wheel = release_kit["wheels"]["good"]
    other_pem, _ = generate()
    forged = r.update_body(wheel, signature=sign(other_pem, "0.2.0", sha256_of(wheel), wheel.stat().st_size))
    r.command("update", forged)
    assert "bad signature" in r.outcome("0.2.0", "failed")["data"]["reason"]
    assert r.stages("0.2.0")[-2:] == ["verifying", "failed"]
    # A valid signature over another digest: the artifact does not match what was signed.
    wrong = "0" * 64
    r.command("update", r.update_body(wheel, sha256=wrong, signature=sign(release_kit["pem"], "0.2.0", wrong,
                                                                          wheel.stat().st_size)))
    assert r.sub.wait_for(lambda m: isinstance(m[2], dict) and "sha256 mismatch" in
                          str(m[2].get("data", {}).get("reason", "")), 60), r.stages("0.2.0")
    # A signature for 0.2.0 replayed as 0.3.0.
    r.command("update", r.update_body(wheel, version="0.3.0", signature=forged["signature"]))
    assert "bad signature" in r.outcome("0.3.0", "failed")["data"]["reason"]
    assert not (r.root / "versions").exists() or not any((r.root / "versions").iterdir())
    assert Path(r.root / "current").resolve() == Path(sys.prefix).resolve()
    assert len(r.service.starts) == 1


def test_update_waits_while_a_call_is_open(rig: Any, release_kit: dict[str, Any]) -> None:
    r = rig()
    from hub.core.control import request, socket_path

    state = r.config.parent / "state"
    call = request(socket_path(state), {"cmd": "sim", "verb": "press", "argv": []})["event_id"]
    r.command("update", r.update_body(release_kit["wheels"]["good"]))
    waiting = r.outcome("0.2.0", "waiting", timeout=90)
    assert "call.raised" in waiting["data"]["reason"] or "call" in waiting["data"]["reason"]
    assert "restarting" not in r.stages("0.2.0") and len(r.service.starts) == 1
    r.command("ack", {"event_id": call, "by": "duty"})
    r.outcome("0.2.0", "healthy")
    assert r.stages("0.2.0")[-3:] == ["waiting", "restarting", "healthy"]


def test_technician_installs_from_a_file_with_the_hub_stopped(tmp_path: Path, release_kit: dict[str, Any]) -> None:
    with broker(tmp_path) as port:
        r = Rig(tmp_path, port, release_kit, start=False)
        try:
            wheel = tmp_path / "usb" / release_kit["wheels"]["good"].name
            wheel.parent.mkdir()
            wheel.write_bytes(release_kit["wheels"]["good"].read_bytes())
            tech = [sys.executable, "-m", "hub", "update", "--config", str(r.config), "--from", str(wheel)]
            missing = subprocess.run(tech, capture_output=True, text=True, timeout=120)
            assert missing.returncode == 2 and "release file" in missing.stderr
            forged = subprocess.run([sys.executable, "-m", "hub", "update", "sign", "--key",
                                     str(_other_key(tmp_path)), str(wheel)], capture_output=True, text=True)
            assert forged.returncode == 0, forged.stderr
            refused = subprocess.run(tech, capture_output=True, text=True, timeout=120)
            assert refused.returncode == 1 and "bad signature" in refused.stderr, refused.stderr
            assert not (r.root / "versions").exists()
            signed = subprocess.run([sys.executable, "-m", "hub", "update", "sign", "--key",
                                     str(release_kit["work"] / "key.pem"), str(wheel)], capture_output=True, text=True)
            assert json.loads(signed.stdout)["version"] == "0.2.0"
            done = subprocess.run(tech, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "verified" in done.stdout and "switched to 0.2.0" in done.stdout
            r.service.start()
            r.wait_online()
            r.outcome("0.2.0", "healthy")
            assert r.status()["version"] == "0.2.0"
        finally:
            r.close()


def _other_key(tmp: Path) -> Path:
    path = tmp / "other.pem"
    path.write_bytes(generate()[0])
    return path


def test_technician_installs_from_a_file_while_the_hub_runs(rig: Any, release_kit: dict[str, Any],
                                                            tmp_path: Path) -> None:
    r = rig()
    wheel = tmp_path / release_kit["wheels"]["good"].name
    wheel.write_bytes(release_kit["wheels"]["good"].read_bytes())
    signed = subprocess.run([sys.executable, "-m", "hub", "update", "sign", "--key",
                             str(release_kit["work"] / "key.pem"), str(wheel)], capture_output=True, text=True)
    assert signed.returncode == 0, signed.stderr
    done = subprocess.run([sys.executable, "-m", "hub", "update", "--config", str(r.config), "--from", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "installed 0.2.0 beside the running version" in done.stdout and "restarts into it" in done.stdout
    r.outcome("0.2.0", "healthy")
    assert r.stages("0.2.0") == ["verifying", "installing", "restarting", "healthy"]
    assert r.status()["version"] == "0.2.0"


def test_an_older_release_is_refused_and_only_a_signed_downgrade_installs(rig: Any,
                                                                         release_kit: dict[str, Any]) -> None:
    """Issue 21 item 4: 0.0.9, validly signed, over 0.1.0 installed and reported healthy."""
    r = rig()
    wheel, server = release_kit["wheels"]["older"], release_kit["server"]
    r.command("update", r.update_body(wheel))
    failed = r.outcome("0.0.9", "failed", timeout=60)
    assert "older than the installed 0.1.0" in failed["data"]["reason"], failed
    assert not [p for p, _, _ in server.requests if p.endswith(wheel.name)]  # refused before any download
    # The same release with a downgrade_from the key did not sign: refused at the signature.
    unsigned = {**r.update_body(wheel), "downgrade_from": "0.1.0"}
    r.command("update", unsigned)
    assert r.sub.wait_for(lambda m: isinstance(m[2], dict) and "bad signature" in
                          str(m[2].get("data", {}).get("reason", "")), 60), r.stages("0.0.9")
    assert not (r.root / "versions").exists() or not any((r.root / "versions").iterdir())
    # Signed as a downgrade of exactly the installed version: installed, proven, reported.
    r.command("update", r.update_body(wheel, downgrade_from="0.1.0"))
    healthy = r.outcome("0.0.9", "healthy")
    assert healthy["data"]["from_version"] == "0.1.0"
    assert r.status()["version"] == "0.0.9"


def test_kill_9_during_the_install_is_reported_interrupted_and_cleaned(rig: Any, release_kit: dict[str, Any]) -> None:
    """Issue 21 item 4: kill -9 while installing left the platform at "installing" for ever and the half
    install on the card."""
    r = rig()
    wheel = release_kit["wheels"]["good"]
    r.command("update", r.update_body(wheel))
    r.outcome("0.2.0", "installing", timeout=90)
    assert r.service.proc is not None
    os.killpg(r.service.proc.pid, signal.SIGKILL)  # the hub and its pip, as a power cut or the OOM killer would
    interrupted = r.outcome("0.2.0", "interrupted", timeout=90)
    assert "during installing" in interrupted["data"]["reason"], interrupted
    assert "restarting" not in r.stages("0.2.0") and len(r.service.starts) == 2
    assert not (r.root / "versions" / "0.2.0").exists()  # the half install is gone
    assert not (r.root / "pending.json").exists()
    assert not list((r.root / "downloads").iterdir())
    assert Path(r.root / "current").resolve() == Path(sys.prefix).resolve()
    assert r.status()["update"]["stage"] == "interrupted"
    # Sent again, it goes through.
    r.command("update", r.update_body(wheel))
    r.outcome("0.2.0", "healthy")
    assert r.status()["version"] == "0.2.0"


def test_technician_cannot_install_an_older_release_without_a_signed_downgrade(tmp_path: Path,
                                                                                release_kit: dict[str, Any]) -> None:
    with broker(tmp_path) as port:
        r = Rig(tmp_path, port, release_kit, start=False)
        try:
            wheel = tmp_path / "usb" / release_kit["wheels"]["older"].name
            wheel.parent.mkdir()
            wheel.write_bytes(release_kit["wheels"]["older"].read_bytes())
            key = str(release_kit["work"] / "key.pem")
            sign_cmd = [sys.executable, "-m", "hub", "update", "sign", "--key", key, str(wheel)]
            assert subprocess.run(sign_cmd, capture_output=True, text=True).returncode == 0
            tech = [sys.executable, "-m", "hub", "update", "--config", str(r.config), "--from", str(wheel)]
            refused = subprocess.run(tech, capture_output=True, text=True, timeout=120)
            assert refused.returncode == 1 and "older than the installed 0.1.0" in refused.stderr, refused.stderr
            assert not (r.root / "versions").exists() and not (r.root / "pending.json").exists()
            bad = subprocess.run([*sign_cmd, "--downgrade-from", "0.0.1"], capture_output=True, text=True)
            assert bad.returncode == 2 and "newer than this wheel's 0.0.9" in bad.stderr
            signed = subprocess.run([*sign_cmd[:-1], "--downgrade-from", "0.1.0", str(wheel)], capture_output=True,
                                    text=True)
            assert json.loads(signed.stdout)["downgrade_from"] == "0.1.0", signed.stderr
            done = subprocess.run(tech, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0 and "switched to 0.0.9" in done.stdout, done.stdout + done.stderr
        finally:
            r.close()


def test_an_endless_download_and_a_redirect_to_http_are_refused_by_the_hub(rig: Any,
                                                                            release_kit: dict[str, Any]) -> None:
    """Issue 21 item 4: an endless download pulled ~1 GB and left 200 MB of .part files; an https URL
    that redirects to http was followed."""
    from urllib.parse import quote

    r = rig()
    wheel, server = release_kit["wheels"]["good"], release_kit["server"]
    r.command("update", r.update_body(wheel, url=server.url(f"endless/{wheel.name}")))
    failed = r.outcome("0.2.0", "failed", timeout=90)
    assert f"more than the signed {wheel.stat().st_size} bytes" in failed["data"]["reason"], failed
    assert not list((r.root / "downloads").iterdir())  # no .part left on the card
    plain = server.url(wheel.name).replace("https://", "http://")  # never tried: refused at the redirect
    r.command("update", r.update_body(wheel, url=server.url("redirect/" + quote(plain, safe=""))))
    assert r.sub.wait_for(lambda m: isinstance(m[2], dict) and "https only" in
                          str(m[2].get("data", {}).get("reason", "")), 90), r.stages("0.2.0")
    assert not (r.root / "versions").exists() or not any((r.root / "versions").iterdir())
    assert len(r.service.starts) == 1


def test_kill_9_during_the_download_is_interrupted_and_the_resend_resumes(rig: Any,
                                                                         release_kit: dict[str, Any]) -> None:
    r = rig()
    wheel, server = release_kit["wheels"]["good"], release_kit["server"]
    r.command("update", r.update_body(wheel, url=server.url(f"slow/{wheel.name}")))
    assert r.sub.wait_event("system.update", 90, version="0.2.0", stage="downloading", progress=25), r.stages("0.2.0")
    assert r.service.proc is not None
    os.killpg(r.service.proc.pid, signal.SIGKILL)
    interrupted = r.outcome("0.2.0", "interrupted", timeout=90)
    assert "during downloading" in interrupted["data"]["reason"] and "partial download is kept" in \
        interrupted["data"]["reason"], interrupted
    parts = list((r.root / "downloads").glob("*.part"))
    assert len(parts) == 1 and 0 < parts[0].stat().st_size < wheel.stat().st_size, parts
    have = parts[0].stat().st_size
    r.command("update", r.update_body(wheel))  # the same signed release, from the fast URL
    r.outcome("0.2.0", "healthy")
    ranges = [rng for path, rng, _ in server.requests if path == f"/{wheel.name}"]
    assert ranges[-1] == f"bytes={have}-", ranges  # resumed where the killed process stopped
