"""What an operator sees in the Prefect UI, in a real browser (Debian's Chromium via Playwright).

Runs against the session's real stack (tests/prefect_stack.py: Prefect server on PostgreSQL with
its UI on, prefect.yaml deployed, process workers): a recurring transfer's schedule is listed by
its name and schedule (not a ``ferry-<uuid>`` slug), its rounds are named after it, and a failed
transfer shows red. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.prefect_stack import shared_stack, wait_until
from tests.test_deployments_stack import _flow_run_state, _jobs, _write_files, stack_env, workers  # noqa: F401

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def stack(request):
    return shared_stack(request.config)


@pytest.fixture
def browser():
    """Per test, and set up after the stack's fixtures: it closes (with its event loop) before
    they drain Prefect's event worker."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def _start_run(deployment: str, parameters: dict):
    """A flow run of ``deployment`` (the sync client: Playwright's loop makes run_deployment async)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        found = client.read_deployment_by_name(deployment)
        return client.create_flow_run_from_deployment(found.id, parameters=parameters)


def _open(browser, url: str, expect: str, shot: str):
    """Open ``url`` and wait (generously) until the page shows ``expect``; keep a screenshot."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    try:
        page.get_by_text(expect).first.wait_for(timeout=120_000)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    return page


def test_the_ui_names_schedules_and_rounds_and_shows_a_failed_run_red(stack, stack_env, workers, tmp_path, browser):
    from typer.testing import CliRunner

    from ferry.cli import app
    from flows.context import open_context
    from flows.recurring import RecurringStore
    from flows.requests import create_job

    src = tmp_path / "src"
    _write_files(src, 0, 2)
    runner = CliRunner()
    created = runner.invoke(app, ["recurring", "create", "family-photos", f"folder:{src}", f"folder:{tmp_path / 'dst'}", "--types", "blobs", "--every", "10s", "--deploy"])
    assert created.exit_code == 0, created.output
    rec = RecurringStore(stack_env).get("family-photos")
    broken = tmp_path / "facebook-broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    job = create_job(open_context(), f"meta:{broken}", f"folder:{tmp_path / 'out'}", ["photos"])
    workers("w-ui")
    failed_run = _start_run("transfer/transfer", {"job_id": job.id})
    wait_until(lambda: [j for j in _jobs(stack_env, recurring_id=rec.id) if j.state.value == "COMPLETE"], what="a round of family-photos", stack=stack)
    wait_until(lambda: _flow_run_state(failed_run.id).is_final(), what="the failing transfer", stack=stack)
    assert _flow_run_state(failed_run.id).is_failed()
    assert runner.invoke(app, ["recurring", "pause", "family-photos"]).exit_code == 0

    deployment = _open(browser, f"{stack.ui_url}/deployments/deployment/{rec.deployment_id}", "family-photos (every 10s)", "ui-schedules.png")
    assert "ferry-" + rec.id not in deployment.inner_text("body")
    runs = _open(browser, f"{stack.ui_url}/deployments/deployment/{rec.deployment_id}", "family-photos 20", "ui-round-names.png")
    assert runs.get_by_text("family-photos 20").count() >= 1

    failed = _open(browser, f"{stack.ui_url}/runs/flow-run/{failed_run.id}", "Failed", "ui-failed-run.png")
    assert failed.get_by_text(f"transfer meta→folder {job.id[:8]}").count() >= 1
    badge = failed.locator(".state-badge").first
    assert badge.inner_text().strip() == "Failed"
    red, green, blue = (int(x) for x in badge.evaluate("e => getComputedStyle(e).backgroundColor").strip("rgba() ").split(",")[:3])
    assert red > 150 and green < 100 and blue < 100, (red, green, blue)
    assert runner.invoke(app, ["recurring", "cancel", "family-photos"]).exit_code == 0
