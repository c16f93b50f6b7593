"""The suite's own rules, run on a throw-away suite with this conftest: under CI=true a skip that is not on
ALLOWED_SKIPS (with the words its reason must say) fails the run; `--reverse` reverses the order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent
CONFTEST = (HERE / "conftest.py").read_text()
SKIPS = """
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("{reason}")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]))
    pytester.makeconftest(CONFTEST)
    return pytester


def test_ci_fails_a_run_with_a_skip_not_on_the_allow_list(suite: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    suite.makepyfile(test_a=SKIPS.format(reason="no mosquitto here"))
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 test(s) skipped that are not on tests/conftest.py's ALLOWED_SKIPS*",
                                 "*test_a.py::test_skips: Skipped: no mosquitto here*"])
    monkeypatch.setenv("CI", "false")  # a developer's machine: a skip is a skip
    assert suite.runpytest_subprocess("-p", "no:cacheprovider").ret == pytest.ExitCode.OK


def test_ci_accepts_an_allowed_skip_only_for_its_declared_reason(suite: pytest.Pytester,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    suite.makepyfile(**{"tests/test_fall_eval": SKIPS.format(reason="SisFall development data not at /x")})
    assert suite.runpytest_subprocess("-p", "no:cacheprovider").ret == pytest.ExitCode.OK
    suite.makepyfile(**{"tests/test_fall_eval": SKIPS.format(reason="numpy too old")})  # same test, another reason
    assert suite.runpytest_subprocess("-p", "no:cacheprovider").ret == pytest.ExitCode.TESTS_FAILED


def test_reverse_runs_the_tests_backwards(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_order="def test_1():\n    pass\n\ndef test_2():\n    pass\n\ndef test_3():\n    pass\n")
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--reverse", "-v")
    ran = [line.split("::")[1].split()[0] for line in result.outlines if "::test_" in line and "PASSED" in line]
    assert ran == ["test_3", "test_2", "test_1"]
