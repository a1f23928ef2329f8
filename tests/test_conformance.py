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


# -- pacing and refreshing (issue 14 part 2) ------------------------------------------------------


def _raw_failures(dest, requests: int) -> int:
    """What a client that ignores Retry-After sees from the same throttle: failed requests."""
    import httpx

    from connectors.generic.wire import envelope_bytes
    from connectors.models import Folder

    failed = 0
    with httpx.Client() as client:
        for n in range(requests):
            body = envelope_bytes(Folder(id=f"raw-{n}", path=f"/raw-{n}"))
            answer = client.post(dest.url + "/blobs", content=body,
                                 headers={"Authorization": "Bearer good-token", "Content-Type": "application/json"})  # fmt: skip
            failed += answer.status_code == 429
    return failed


def test_a_throttling_destination_is_waited_out_not_failed(dest):
    from tests.generic_support import RecordingClock

    clock = RecordingClock()  # the destination and the runner share it: waits are checked, not slept
    dest.api.knobs.throttle_every, dest.api.knobs.retry_after, dest.api.knobs.clock = 7, "3", clock.monotonic
    report = run_conformance(dest.url, "good-token", volume=40, clock=clock)
    assert report.passed, [r for r in report.results if not r.passed]
    assert dest.api.knobs.throttled >= 8 and report.throttled == dest.api.knobs.throttled
    assert dest.api.knobs.early_requests == 0, "the runner came back before Retry-After was over"
    assert clock.delays and all(d >= 3 - 0.05 for d in clock.delays) and report.waited >= 3 * report.throttled - 1
    # the same throttle fails about one request in seven of a client that does not pace
    dest.api.knobs.clock = lambda: clock.monotonic() + 10_000  # every earlier hold is over
    assert _raw_failures(dest, 21) >= 3


def test_short_lived_tokens_are_refreshed_from_a_refresh_token(dest):
    from connectors.oauth import OAuthClient, build_client_config, discover
    from ferry.conformance.tokens import RefreshTokenSource

    dest.tokens.access_uses = 5  # every access token is good for five requests
    try:
        grant = dest.tokens.issue("alice", client_id="ferry")
        client = OAuthClient(build_client_config(client_id="ferry", metadata=discover(dest.server.url)))
        tokens = RefreshTokenSource(client, grant["refresh_token"])
        report = run_conformance(dest.url, tokens, volume=20)
        assert report.passed, [r for r in report.results if not r.passed]
        sent = len(dest.api.received)
        assert report.refreshes >= sent // 5 - 2 and tokens.refreshes == report.refreshes + 1  # + the first token
        assert "at_" not in repr(tokens) and "rt_" not in repr(tokens)
        # a fixed token on the same destination fails as soon as it is used up
        fixed = run_conformance(dest.url, dest.tokens.issue("alice", client_id="ferry")["access_token"], volume=0)
        assert not fixed.passed
        assert any("cannot be refreshed" in r.detail for r in fixed.results if not r.passed)
    finally:
        dest.tokens.access_uses = None


def test_cli_takes_a_stored_credential_or_a_refresh_token(dest, tmp_path, monkeypatch):
    from connectors.oauth import build_client_config, discover
    from flows.context import open_context

    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "data"))
    ctx = open_context(create=True)
    config = build_client_config(client_id="ferry", metadata=discover(dest.server.url))
    grant = {**dest.tokens.issue("alice", client_id="ferry"), "token_type": "Bearer"}
    credential = ctx.credentials.create("generic", grant, config).id
    dest.tokens.access_uses = 4
    try:
        runner = CliRunner()
        result = runner.invoke(cli, ["conformance", dest.url, "--credential", credential[:8], "--volume", "5"])
        assert result.exit_code == 0, result.output
        assert "all 24 checks passed" in result.output and "token refreshed" in result.output
        monkeypatch.setenv("DEST_REFRESH", dest.tokens.issue("alice", client_id="ferry")["refresh_token"])
        args = ["conformance", dest.url, "--refresh-token-env", "DEST_REFRESH", "--client-id", "ferry",
                "--metadata-url", dest.server.url, "--volume", "5"]  # fmt: skip
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "rt_" not in result.output and "at_" not in result.output
        result = runner.invoke(cli, ["conformance", dest.url, "--refresh-token-env", "DEST_REFRESH"])
        assert result.exit_code == 2 and "--client-id" in result.output
    finally:
        dest.tokens.access_uses = None
