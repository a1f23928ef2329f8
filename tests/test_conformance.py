"""``ferry conformance`` passes against the reference destination and fails against broken ones."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ferry.cli import app as cli
from ferry.conformance import run_conformance
from tests.generic_support import start_destination


@pytest.fixture(scope="module")
def destination(tmp_path_factory):
    with start_destination(tmp_path_factory.mktemp("conformance-dest")) as running:
        yield running


@pytest.fixture
def dest(destination):
    destination.reset()
    return destination


def test_reference_destination_passes(dest):
    report = run_conformance(dest.url, "good-token", volume=20)
    assert report.passed, [r for r in report.results if not r.passed]
    names = [r.name for r in report.results]
    assert len(names) == 24 and report.failure_rate == 0.0
    assert {r.payload_type for r in dest.api.received if r.status == 201} == {
        "Album", "Photo", "Video", "Folder", "File", "Calendar", "CalendarEvent", "SocialActivity",
    }  # fmt: skip


def test_broken_dedupe_fails_the_repeat_checks(dest):
    dest.api.knobs.break_dedupe = True
    report = run_conformance(dest.url, "good-token", volume=0)
    failed = [r for r in report.results if not r.passed]
    assert not report.passed
    assert {r.name for r in failed} == {r.name for r in report.results if r.name.startswith("repeat answered 2xx")}
    assert all(r.detail.startswith("409 conflict") for r in failed)


def test_server_errors_fail_the_failure_rate_check(dest):
    dest.api.knobs.server_errors_next = 30  # the 23 requests of the other checks, then 7 of the batch
    dest.api.knobs.server_error_status = 500
    report = run_conformance(dest.url, "good-token", volume=20)
    rate = next(r for r in report.results if r.name == "failure rate below 1%")
    assert not rate.passed and report.failure_rate > 0.01
    assert "500 server_error" in rate.detail


def test_cli_prints_a_table_and_sets_the_exit_code(dest, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("DEST_TOKEN", "good-token")
    result = runner.invoke(cli, ["conformance", dest.url, "--token-env", "DEST_TOKEN", "--volume", "5"])
    assert result.exit_code == 0, result.output
    assert "all 24 checks passed" in result.output and "good-token" not in result.output
    dest.api.knobs.break_dedupe = True
    result = runner.invoke(cli, ["conformance", dest.url, "--token-env", "DEST_TOKEN", "--volume", "5"])
    assert result.exit_code == 1 and "FAIL" in result.output
    result = runner.invoke(cli, ["conformance", dest.url, "--token-env", "UNSET_TOKEN_VAR"])
    assert result.exit_code == 2 and "UNSET_TOKEN_VAR" in result.output


def test_serve_destination_is_registered():
    result = CliRunner().invoke(cli, ["serve-destination", "--help"])
    assert result.exit_code == 0 and "--client-secret-env" in result.output
