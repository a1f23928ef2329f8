"""Static site build, the preview server, and the catalog/connectors boundary."""

from __future__ import annotations

import ast
import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from catalog import CatalogBuildError, ConnectorInfo, PreviewServer, build_site
from ferry.cli import app

FIXTURES = Path(__file__).parent / "catalog_fixtures"
SERVICES = FIXTURES / "services.yaml"
ROOT = Path(__file__).parent.parent

CONNECTORS = [
    ConnectorInfo("meta", "Meta archive", ("Facebook", "Instagram"), frozenset({"photos", "videos"})),
    ConnectorInfo("folder", "Folder", ("Local files", "Backblaze B2"), frozenset({"blobs"}),
                  frozenset({"photos", "videos", "blobs"})),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    report = build_site(FIXTURES / "good", SERVICES, out, connectors=CONNECTORS)
    return out, report


def test_build_report(site):
    out, report = site
    assert report.ok and report.solutions == 4 and report.runnable == 1
    assert report.index_path == out / "index.json"
    assert report.pages == len(list(out.rglob("*.html")))


def test_pages_exist_for_solutions_services_and_datatypes(site):
    out, _ = site
    for rel in (
        "index.html", "solutions/fb-photos-folder.html", "services/facebook.html",
        "services/local-files.html", "datatypes/photos.html", "datatypes/index.html",
        "services/index.html", "assets/app.js", "assets/style.css", "assets/portmap-index.js",
    ):
        assert (out / rel).is_file(), rel


def test_runnable_badge_and_exact_command(site):
    out, _ = site
    page = (out / "solutions/fb-photos-folder.html").read_text()
    assert "Runnable with ferry" in page
    assert "ferry transfer meta:~/facebook-export.zip folder:~/ferry-out --types photos" in page
    assert "ferry transfer meta:~/facebook-export.zip folder:s3://b2-bucket/ferry --types photos" in page
    assert "Runnable with ferry" not in (out / "solutions/fb-photos-google.html").read_text()


def test_solution_page_renders_markdown_safely(site):
    out, _ = site
    page = (out / "solutions/fb-photos-folder.html").read_text()
    assert page.count("<h1>") == 1 and "<h2>Facebook photos to files</h2>" in page
    assert 'href="fb-photos-google.html"' in page  # sibling .md link rewritten
    assert '<html lang="en">' in page and 'name="viewport"' in page


def test_home_page_is_offline_and_accessible(site):
    out, _ = site
    home = (out / "index.html").read_text()
    assert not re.search(r"(src|href)=\"https?://", home)  # no CDN
    for field in ("f-datatype", "f-source", "f-destination", "f-text"):
        assert f'<label for="{field}">' in home
    assert 'role="status"' in home and 'aria-live="polite"' in home
    script = (out / "assets/portmap-index.js").read_text()
    assert script.startswith("window.PORTMAP_INDEX = ")
    index = json.loads(script.removeprefix("window.PORTMAP_INDEX = ").rstrip().rstrip(";"))
    assert index == json.loads((out / "index.json").read_text())


def test_service_page_says_what_leaves_and_arrives(site):
    out, _ = site
    page = (out / "services/facebook.html").read_text()
    assert "What can leave Facebook" in page and "fb-photos-google.html" in page
    assert "Exports with <code>meta</code>" in page
    local = (out / "services/local-files.html").read_text()
    assert "What can arrive in Local files" in local and "fb-photos-folder.html" in local


def test_datatype_page_has_a_matrix(site):
    out, _ = site
    page = (out / "datatypes/photos.html").read_text()
    assert '<th scope="row"><a href="../services/facebook.html">Facebook</a></th>' in page
    assert '<th scope="col"><a href="../services/google-photos.html">Google Photos</a></th>' in page
    assert "✓" in page  # Facebook -> Local files is runnable


def test_index_script_cannot_close_its_script_tag(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "x.md").write_text(
        "---\ntitle: Evil </script><script>alert(1)</script>\ndatatype: Photos\n"
        "sources: Facebook\ndestinations: Koofr\n---\n\n<b>raw html</b> text\n"
    )
    out = tmp_path / "site"
    build_site(pages, SERVICES, out)
    assert "</script><script>alert" not in (out / "assets/portmap-index.js").read_text()
    page = (out / "solutions/x.html").read_text()
    assert "<script>alert" not in page and "&lt;b&gt;raw html&lt;/b&gt;" in page


def test_markup_title_and_undecodable_file_name_are_escaped_everywhere(tmp_path):
    from markupsafe import escape  # what Jinja's autoescape writes

    from tests.hostile.pages import MARKUP_TITLE, markup_title, undecodable_file_name

    pages = tmp_path / "pages"
    markup_title(pages)
    undecodable_file_name(pages)
    out = tmp_path / "site"
    report = build_site(pages, SERVICES, out, strict=True)  # the non-UTF-8 name does not break the build
    assert report.solutions == 2
    script = (out / "assets/portmap-index.js").read_text()
    assert "<" not in script  # every "<" is \\u003c inside the embedded index
    index = json.loads(script.removeprefix("window.PORTMAP_INDEX = ").rstrip().rstrip(";"))
    assert MARKUP_TITLE in [s["title"] for s in index["solutions"]]  # and decodes back to the same title
    for html_file in [out / "index.html", out / "solutions/markup-title.html", out / "services/facebook.html"]:
        html = html_file.read_text()
        assert str(escape(MARKUP_TITLE)) in html
        assert "<script>window.pwned" not in html and "<img src=x" not in html
    assert "not-utf8-\ufffd.md" in (out / "solutions/not-utf8.html").read_text()


def test_rebuild_removes_only_its_own_stale_files(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    for src in (FIXTURES / "good").glob("*.md"):
        (pages / src.name).write_text(src.read_text())
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    build_site(pages, SERVICES, out)
    (pages / "calendar-ics.md").unlink()
    build_site(pages, SERVICES, out)
    assert not (out / "solutions/calendar-ics.html").exists()
    assert (out / "keep.txt").read_text() == "mine"


def test_strict_build_refuses_errors(tmp_path):
    with pytest.raises(CatalogBuildError, match="error"):
        build_site(FIXTURES / "defects", SERVICES, tmp_path / "site", strict=True)
    assert not (tmp_path / "site").exists()
    report = build_site(FIXTURES / "defects", SERVICES, tmp_path / "site")
    assert report.errors > 0 and (tmp_path / "site/index.html").exists()


def test_cli_build(tmp_path):
    runner = CliRunner()
    args = ["--solutions", str(FIXTURES / "good"), "--services", str(SERVICES)]
    result = runner.invoke(app, ["catalog", "build", str(tmp_path / "out"), *args])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out/index.html").exists()
    bad = runner.invoke(
        app, ["catalog", "build", str(tmp_path / "bad"), "--solutions", str(FIXTURES / "defects"),
              "--services", str(SERVICES)]
    )
    assert bad.exit_code == 1 and "not built" in bad.output


def test_preview_server_serves_and_rebuilds_on_change(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.md").write_text(
        "---\ntitle: First title\ndatatype: Photos\nsources: Facebook\ndestinations: Koofr\n---\n\nBody.\n"
    )
    builds = []
    with PreviewServer(pages, SERVICES, tmp_path / "site", port=0, interval=0.05, on_build=builds.append) as server:
        with urllib.request.urlopen(server.url + "solutions/a.html", timeout=10) as response:
            assert "First title" in response.read().decode()
        (pages / "a.md").write_text((pages / "a.md").read_text().replace("First", "Second") + "\nMore.\n")
        for _ in range(400):  # bounded wait for the watcher (not a timing assertion)
            if len(builds) >= 2:
                break
            time.sleep(0.025)
        with urllib.request.urlopen(server.url + "solutions/a.html", timeout=10) as response:
            assert "Second title" in response.read().decode()


def test_catalog_never_imports_connectors_or_flows():
    for path in (ROOT / "catalog").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"connectors", "flows", "ferry"}, f"{path}: imports {name}"


def test_cli_bridge_reads_the_connector_registry():
    from connectors import registry

    from ferry.cli.catalog import connector_infos

    infos = {c.name: c for c in connector_infos()}
    for connector in registry.all_connectors():
        info = infos[connector.name]
        assert info.services == tuple(connector.services)
        assert info.exports == frozenset(str(v) for v in connector.capabilities.exports)
        assert all(isinstance(v, str) for v in info.imports)
