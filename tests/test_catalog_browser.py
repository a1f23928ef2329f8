"""The built site in a real browser: Debian's Chromium driven by Playwright, from file://.

The browser is never downloaded, and no test installs one: ``.ci/run`` installs Debian's
``chromium`` package; without /usr/bin/chromium these tests are skipped, saying so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog import ConnectorInfo, build_site

FIXTURES = Path(__file__).parent / "catalog_fixtures"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: .ci/run installs Debian's chromium package")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser-site")
    connectors = [
        ConnectorInfo("meta", "Meta", ("Facebook", "Instagram"), frozenset({"photos", "videos"})),
        ConnectorInfo("folder", "Folder", ("Local files",), frozenset(), frozenset({"photos", "videos"})),
    ]
    build_site(FIXTURES / "good", FIXTURES / "services.yaml", out, connectors=connectors)
    return out


def visible_titles(page) -> list[str]:
    return page.locator("#results .card-title a").all_inner_texts()


def test_filters_narrow_the_list_and_results_link_to_solutions(browser, site):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((site / "index.html").as_uri())  # file://: the index comes from a script, not fetch()
    assert len(visible_titles(page)) == 4
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "catalog-home.png"), full_page=True)

    page.get_by_label("Data type").select_option("Photos")
    assert sorted(visible_titles(page)) == [
        "Facebook and Instagram photos to Google Photos",
        "Facebook photos to a folder",
    ]
    assert page.locator("#result-count").inner_text() == "2 solutions"
    source_options = page.locator("#f-source option").all_inner_texts()
    assert "Google Calendar (1)" not in source_options  # sources narrowed to the data type

    page.get_by_label("From (source)").select_option("Instagram")
    assert visible_titles(page) == ["Facebook and Instagram photos to Google Photos"]
    assert page.locator("#result-count").inner_text() == "1 solution"
    assert "datatype=Photos" in page.url and "source=Instagram" in page.url
    page.screenshot(path=str(ARTIFACTS / "catalog-home-filtered.png"), full_page=True)

    page.locator("#results .card-title a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/solutions/fb-photos-google.html")
    assert page.locator("h1").inner_text() == "Facebook and Instagram photos to Google Photos"
    assert errors == []
    page.close()


def test_keyboard_and_phone_layout(browser, site):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto((site / "index.html").as_uri() + "#runnable=1")
    assert visible_titles(page) == ["Facebook photos to a folder"]  # state restored from the URL
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling on a phone
    page.goto((site / "solutions/fb-photos-folder.html").as_uri())
    assert page.get_by_text("Runnable with ferry").count() == 1
    page.screenshot(path=str(ARTIFACTS / "catalog-solution-phone.png"), full_page=True)
    page.close()
