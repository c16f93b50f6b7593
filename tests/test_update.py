"""hub.update without a hub: what is signed, key parsing at the config edge, and the boot guard at each
point a power cut can stop the switch or the way back (the e2e runs are in test_update_e2e.py)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from updatekit import ReleaseServer, make_cert

from hub.config.loader import ConfigError, validate
from hub.update.download import DownloadError, Refused, fetch, sha256_of
from hub.update.guard import check
from hub.update.layout import FAILED, ROLLED_BACK, TRIAL, Releases
from hub.update.release import Release, UpdateError
from hub.update.signing import SignatureError, generate, message, public_key_bytes, sign, verify

DIGEST = "ab" * 32


def test_the_signature_binds_version_digest_size_and_downgrade() -> None:
    pem, public = generate()
    signature = sign(pem, "0.2.0", DIGEST, 1234)
    verify(public, "0.2.0", DIGEST, 1234, signature)
    assert message("0.2.0", DIGEST, 1234) == (f"eldercare-hub update v2\nversion 0.2.0\nsha256 {DIGEST}\n"
                                              "size 1234\ndowngrade-from -\n").encode()
    with pytest.raises(SignatureError):
        verify(public, "0.3.0", DIGEST, 1234, signature)  # replayed under another version
    with pytest.raises(SignatureError):
        verify(public, "0.2.0", "cd" * 32, 1234, signature)
    with pytest.raises(SignatureError):
        verify(public, "0.2.0", DIGEST, 10**9, signature)  # a larger size, to feed an endless download
    with pytest.raises(SignatureError):
        verify(public, "0.2.0", DIGEST, 1234, signature, downgrade_from="0.3.0")  # a downgrade nobody signed
    with pytest.raises(SignatureError):
        verify(generate()[1], "0.2.0", DIGEST, 1234, signature)  # another key
    with pytest.raises(SignatureError, match="not valid base64"):
        verify(public, "0.2.0", DIGEST, 1234, "not base64!")


def test_public_key_as_base64_or_pem() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem, public = generate()
    spki = load_pem_private_key(pem, None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert public_key_bytes(spki) == public_key_bytes(public) == base64.b64decode(public)


@pytest.mark.parametrize("bad, said", [("c2hvcnQ=", "5 bytes, not 32"), ("%%%", "not valid base64")])
def test_an_unusable_key_is_refused_naming_the_key(bad: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate({"hub": {"id": "h-1"}, "update": {"public_key": bad}})
    assert "update.public_key" in str(caught.value) and said in str(caught.value)


@pytest.fixture
def releases(tmp_path: Path) -> Releases:
    root = tmp_path / "releases"
    (tmp_path / "base").mkdir()
    root.mkdir()
    os.symlink(str(tmp_path / "base"), root / "current")
    (root / "versions" / "0.2.0" / "venv").mkdir(parents=True)
    return Releases(root)


def test_a_trial_counts_starts_and_rolls_back_after_the_last(releases: Releases) -> None:
    old = releases.target(releases.current)
    releases.begin_trial("0.2.0", "0.1.0", timeout_s=300, max_starts=2)
    assert releases.target(releases.previous) == old
    assert "start 1 of 2" in check(releases.root)
    assert "start 2 of 2" in check(releases.root)
    assert "rolled back to 0.1.0" in check(releases.root)
    marker = releases.marker()
    assert marker and marker.state == ROLLED_BACK and "in 2 starts" in marker.reason
    assert releases.target(releases.current) == old


def test_a_trial_past_its_deadline_is_rolled_back(releases: Releases) -> None:
    marker = releases.begin_trial("0.2.0", "0.1.0", timeout_s=60, max_starts=3)
    check(releases.root, now=marker.deadline + 1)
    assert releases.marker().state == ROLLED_BACK  # type: ignore[union-attr]
    assert "within 60 s" in releases.marker().reason  # type: ignore[union-attr]


def test_power_cut_after_the_marker_before_the_switch(releases: Releases, monkeypatch: pytest.MonkeyPatch) -> None:
    old = releases.target(releases.current)
    real = releases.switch

    def cut(link: Path, target: str) -> None:
        if link == releases.current:
            raise OSError("power cut")
        real(link, target)

    monkeypatch.setattr(releases, "switch", cut)
    with pytest.raises(OSError):
        releases.begin_trial("0.2.0", "0.1.0", timeout_s=300, max_starts=3)
    assert releases.marker().state == TRIAL  # type: ignore[union-attr]
    assert "interrupted before the switch" in check(releases.root)
    assert releases.marker().state == FAILED and releases.target(releases.current) == old  # type: ignore[union-attr]


def test_power_cut_in_the_rollback_is_finished_by_the_guard(releases: Releases,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    old = releases.target(releases.current)
    marker = releases.begin_trial("0.2.0", "0.1.0", timeout_s=300, max_starts=3)
    monkeypatch.setattr(releases, "switch", lambda link, target: (_ for _ in ()).throw(OSError("power cut")))
    with pytest.raises(OSError):
        releases.roll_back(marker, "self-test failed")
    assert releases.target(releases.current) == marker.new  # the link did not move
    assert "finished rolling back" in check(releases.root)
    assert releases.target(releases.current) == old


def test_no_marker_is_a_plain_start(releases: Releases) -> None:
    assert check(releases.root) == "no update in progress"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ReleaseServer, Path, bytes]]:
    docroot = tmp_path / "www"
    docroot.mkdir()
    body = os.urandom(300_000)
    (docroot / "r.whl").write_bytes(body)
    cert, key = make_cert(tmp_path)
    srv = ReleaseServer(docroot, cert, key)
    yield srv, cert, body
    srv.close()


def test_a_partial_download_left_by_a_restart_is_resumed(server: tuple[ReleaseServer, Path, bytes],
                                                         tmp_path: Path) -> None:
    srv, cert, body = server
    dest = tmp_path / "dl" / "r.whl"
    dest.parent.mkdir()
    dest.with_name("r.whl.part").write_bytes(body[:123_456])  # what the hub had before the power went
    seen: list[tuple[int, int | None]] = []
    fetch(srv.url("r.whl"), dest, ca=str(cert), progress=lambda got, total: seen.append((got, total)),
          size=len(body))
    assert dest.read_bytes() == body and not dest.with_name("r.whl.part").exists()
    assert srv.requests == [("/r.whl", "bytes=123456-", 206)]
    assert seen[-1] == (len(body), len(body))


def test_a_cut_transfer_is_resumed_in_the_same_fetch(server: tuple[ReleaseServer, Path, bytes],
                                                     tmp_path: Path) -> None:
    srv, cert, body = server
    srv.cut_after = 100_000
    fetch(srv.url("r.whl"), tmp_path / "r.whl", ca=str(cert), backoff=0, size=len(body))
    assert (tmp_path / "r.whl").read_bytes() == body
    assert [(rng, status) for _, rng, status in srv.requests] == [(None, 200), ("bytes=100000-", 206)]


def test_an_untrusted_server_or_plain_http_is_refused(server: tuple[ReleaseServer, Path, bytes],
                                                      tmp_path: Path) -> None:
    srv, _, _ = server
    with pytest.raises(DownloadError, match="not trusted"):
        fetch(srv.url("r.whl"), tmp_path / "r.whl", ca="", size=1)  # the system store does not know this server
    with pytest.raises(DownloadError, match="https only"):
        fetch(srv.url("r.whl").replace("https", "http"), tmp_path / "r.whl", size=1)
    assert not (tmp_path / "r.whl").exists()


def test_a_redirect_from_https_to_plain_http_is_refused(server: tuple[ReleaseServer, Path, bytes],
                                                         tmp_path: Path) -> None:
    srv, cert, body = server
    plain = ReleaseServer(srv.docroot, None, None)  # the same file over http: what an attacker on the path reads
    try:
        with pytest.raises(DownloadError, match=r"redirect .* https only"):
            fetch(srv.url("redirect/" + quote(plain.url("r.whl"), safe="")), tmp_path / "r.whl", ca=str(cert),
                  size=len(body), backoff=0)
        assert plain.requests == []  # never contacted
        assert not list(tmp_path.glob("r.whl*"))
        # https → https (a CDN) is followed.
        fetch(srv.url("redirect/" + quote(srv.url("r.whl"), safe="")), tmp_path / "r.whl", ca=str(cert),
              size=len(body))
        assert (tmp_path / "r.whl").read_bytes() == body
    finally:
        plain.close()


def test_an_endless_download_stops_at_the_signed_size_and_leaves_nothing(server: tuple[ReleaseServer, Path, bytes],
                                                                        tmp_path: Path) -> None:
    srv, cert, body = server
    dest = tmp_path / "dl" / "r.whl"
    written: list[int] = []
    with pytest.raises(Refused, match=f"more than the signed {len(body)} bytes"):
        fetch(srv.url("endless/r.whl"), dest, ca=str(cert), size=len(body), backoff=0,
              progress=lambda got, total: written.append(got))
    assert max(written) == len(body)  # the partial file grew to the signed size, not one byte further
    assert not list(dest.parent.iterdir())  # and the .part is gone
    assert srv.sent < 64 * 1024 * 1024, srv.sent  # the server stopped when the hub hung up, not at 1 GB
    assert len(srv.requests) == 1  # refused, not retried
    with pytest.raises(Refused, match=f"offers {1 << 30} bytes; the signed release is {len(body)}"):
        fetch(srv.url("liar/r.whl"), dest, ca=str(cert), size=len(body), backoff=0)
    assert not list(dest.parent.iterdir())


def test_a_partial_file_longer_than_the_signed_size_is_not_resumed(server: tuple[ReleaseServer, Path, bytes],
                                                                   tmp_path: Path) -> None:
    srv, cert, body = server
    dest = tmp_path / "r.whl"
    dest.with_name("r.whl.part").write_bytes(os.urandom(len(body) + 10))
    fetch(srv.url("r.whl"), dest, ca=str(cert), size=len(body))
    assert dest.read_bytes() == body and srv.requests == [("/r.whl", None, 200)]


def _release(version: str, downgrade_from: str = "", **body: object) -> Release:
    return Release.parse({"version": version, "sha256": DIGEST, "signature": "x", "size": 10,
                          **({"downgrade_from": downgrade_from} if downgrade_from else {}), **body}, need_url=False)


def test_anti_rollback_only_newer_versions_or_a_downgrade_signed_for_the_installed_one() -> None:
    _release("0.1.1").admissible("0.1.0")
    _release("0.10.0").admissible("0.9.0")  # numbers, not strings
    with pytest.raises(UpdateError, match=r"0\.0\.9 is older than the installed 0\.1\.0.*anti-rollback"):
        _release("0.0.9").admissible("0.1.0")
    with pytest.raises(UpdateError, match="already installed"):
        _release("0.1.0").admissible("0.1.0")
    with pytest.raises(UpdateError, match="older than the installed"):
        _release("0.1.0rc1").admissible("0.1.0")
    _release("0.0.9", downgrade_from="0.1.0").admissible("0.1.0")
    with pytest.raises(UpdateError, match=r"signed to replace 0\.1\.0, but 0\.2\.0 is installed"):
        _release("0.0.9", downgrade_from="0.1.0").admissible("0.2.0")  # replayed later: refused
    with pytest.raises(UpdateError, match="not older"):
        _release("0.3.0", downgrade_from="0.2.0").admissible("0.2.0")
    with pytest.raises(UpdateError, match="'size'"):
        _release("0.2.0", size=None)
    with pytest.raises(UpdateError, match="'size'"):
        _release("0.2.0", size=1 << 40)
    with pytest.raises(UpdateError, match="not a release version"):
        _release("0.2.0-evil")


def test_a_downgrade_the_key_did_not_sign_is_refused(tmp_path: Path) -> None:
    pem, public = generate()
    artifact = tmp_path / "a.whl"
    artifact.write_bytes(os.urandom(1000))
    digest = sha256_of(artifact)
    signed = {"version": "0.0.9", "sha256": digest, "size": 1000, "signature": sign(pem, "0.0.9", digest, 1000)}
    forged = Release.parse({**signed, "downgrade_from": "0.1.0"}, need_url=False)  # added by whoever sent it
    forged.admissible("0.1.0")
    with pytest.raises(UpdateError, match="bad signature"):
        forged.check(artifact, public)
    with pytest.raises(UpdateError, match="size mismatch"):
        Release.parse({**signed, "size": 999}, need_url=False).check(artifact, public)


def test_a_start_removes_half_installs_and_keeps_one_resumable_download(releases: Releases) -> None:
    old = releases.versions / "0.0.5" / "venv"  # installed, never switched to (kill -9 in `installing`)
    old.mkdir(parents=True)
    releases.begin_trial("0.2.0", "0.1.0", timeout_s=300, max_starts=3)
    releases.downloads.mkdir()
    names = {v: f"eldercare_hub-{v}-py3-none-any.whl.{'ab' * 8}" for v in ("0.0.9", "0.3.0", "0.4.0")}
    for i, name in enumerate(names[v] for v in sorted(names)):
        part = releases.downloads / f"{name}.part"
        part.write_bytes(b"x" * 10)
        os.utime(part, (1000 + i, 1000 + i))
    (releases.downloads / names["0.3.0"]).write_bytes(b"whole")  # downloaded, never verified
    (releases.root / ".update.json.x.tmp").write_bytes(b"")
    removed = releases.tidy("0.2.0")
    assert [p.name for p in releases.downloads.iterdir()] == [names["0.4.0"] + ".part"]  # the newest newer one
    assert not old.parent.exists() and (releases.versions / "0.2.0" / "venv").is_dir()  # the trial's is kept
    assert "versions/0.0.5" in removed and ".update.json.x.tmp" in removed
    assert releases.tidy("0.2.0") == []


@pytest.mark.parametrize("spoilt, said", [
    ("appended", "文件不完整或被改动：重新拷贝这个版本"),
    ("other_key", "签名与本机的发布密钥不符：向平台团队要这个版本的 .release.json"),
])
def test_a_refused_file_says_what_to_do_about_it(tmp_path: Path, spoilt: str, said: str) -> None:
    """The technician with a USB stick: `hub update --from` on a file spoilt in copying, or signed with another
    key, said only "size mismatch: …" or "bad signature: … for this version, digest, size and downgrade"."""
    import json
    import subprocess
    import sys

    wheel = tmp_path / "eldercare_hub-0.2.0-py3-none-any.whl"
    wheel.write_bytes(b"PK not really a wheel, refused before it is opened")
    private, public = generate()
    signer = generate()[0] if spoilt == "other_key" else private
    size, digest = wheel.stat().st_size, sha256_of(wheel)
    (tmp_path / (wheel.name + ".release.json")).write_text(json.dumps(
        {"version": "0.2.0", "sha256": digest, "size": size, "signature": sign(signer, "0.2.0", digest, size)}))
    if spoilt == "appended":
        wheel.write_bytes(wheel.read_bytes() + b"x")
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nid = "t-upd"\nstate_dir = "{tmp_path / "state"}"\n[mqtt]\nhost = "127.0.0.1"\n'
                      f'port = 1\n[update]\npublic_key = "{public}"\nroot = "{tmp_path / "releases"}"\n')
    done = subprocess.run([sys.executable, "-m", "hub", "update", "--from", str(wheel), "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "✗ 拒绝 refused, nothing changed" in done.stderr and said in done.stderr, done.stderr
