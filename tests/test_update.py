"""hub.update without a hub: what is signed, key parsing at the config edge, and the boot guard at each
point a power cut can stop the switch or the way back (the e2e runs are in test_update_e2e.py)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from updatekit import ReleaseServer, make_cert

from hub.config.loader import ConfigError, validate
from hub.update.download import DownloadError, fetch
from hub.update.guard import check
from hub.update.layout import FAILED, ROLLED_BACK, TRIAL, Releases
from hub.update.signing import SignatureError, generate, message, public_key_bytes, sign, verify

DIGEST = "ab" * 32


def test_the_signature_binds_version_and_digest() -> None:
    pem, public = generate()
    signature = sign(pem, "0.2.0", DIGEST)
    verify(public, "0.2.0", DIGEST, signature)
    assert message("0.2.0", DIGEST) == f"eldercare-hub update v1\n0.2.0\n{DIGEST}\n".encode()
    with pytest.raises(SignatureError):
        verify(public, "0.3.0", DIGEST, signature)  # replayed under another version
    with pytest.raises(SignatureError):
        verify(public, "0.2.0", "cd" * 32, signature)
    with pytest.raises(SignatureError):
        verify(generate()[1], "0.2.0", DIGEST, signature)  # another key
    with pytest.raises(SignatureError, match="not valid base64"):
        verify(public, "0.2.0", DIGEST, "not base64!")


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
    fetch(srv.url("r.whl"), dest, ca=str(cert), progress=lambda got, total: seen.append((got, total)))
    assert dest.read_bytes() == body and not dest.with_name("r.whl.part").exists()
    assert srv.requests == [("/r.whl", "bytes=123456-", 206)]
    assert seen[-1] == (len(body), len(body))


def test_a_cut_transfer_is_resumed_in_the_same_fetch(server: tuple[ReleaseServer, Path, bytes],
                                                     tmp_path: Path) -> None:
    srv, cert, body = server
    srv.cut_after = 100_000
    fetch(srv.url("r.whl"), tmp_path / "r.whl", ca=str(cert), backoff=0)
    assert (tmp_path / "r.whl").read_bytes() == body
    assert [(rng, status) for _, rng, status in srv.requests] == [(None, 200), ("bytes=100000-", 206)]


def test_an_untrusted_server_or_plain_http_is_refused(server: tuple[ReleaseServer, Path, bytes],
                                                      tmp_path: Path) -> None:
    srv, _, _ = server
    with pytest.raises(DownloadError, match="not trusted"):
        fetch(srv.url("r.whl"), tmp_path / "r.whl", ca="")  # the system store does not know this server
    with pytest.raises(DownloadError, match="https only"):
        fetch(srv.url("r.whl").replace("https", "http"), tmp_path / "r.whl")
    assert not (tmp_path / "r.whl").exists()
