"""The checker: every defect class on its own small page, with file, line and severity."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from catalog import Kind, Severity, load_catalog
from catalog.pages import read_page
from catalog.solutions import split_names
from ferry.cli import app

FIXTURES = Path(__file__).parent / "catalog_fixtures"
SERVICES = FIXTURES / "services.yaml"


def problems_of(path: Path):
    return [p for p in load_catalog(path, SERVICES).problems if p.kind != Kind.CONNECTOR_SERVICE]


@pytest.mark.parametrize(
    ("page", "kind", "line", "needle"),
    [
        ("malformed-yaml.md", Kind.MALFORMED_YAML, 5, "not valid YAML"),
        ("unclosed.md", Kind.UNCLOSED_FRONTMATTER, 7, "add a line '---'"),
        ("missing-field.md", Kind.MISSING_FIELD, 5, "rename 'destination' to 'destinations'"),
        ("empty-field.md", Kind.EMPTY_FIELD, 4, "'sources' is empty"),
        ("unknown-datatype.md", Kind.UNKNOWN_DATATYPE, 3, "did you mean 'Photos'?"),
        ("unknown-service.md", Kind.UNKNOWN_SERVICE, 4, "did you mean 'Instagram'?"),
        ("placeholder-link.md", Kind.PLACEHOLDER_LINK, 10, "PUT LINK IN HERE"),
        ("empty-link.md", Kind.EMPTY_LINK, 9, "has no target"),
        ("misleading-link.md", Kind.MISLEADING_LINK, 8, "https://evil.example.net/tyi"),
        ("empty-file.md", Kind.NO_FRONTMATTER, 0, "empty file"),
    ],
)
def test_each_defect_is_reported_once_with_its_line(page, kind, line, needle):
    problems = problems_of(FIXTURES / "defects" / page)
    assert [(p.kind, p.line, p.severity) for p in problems] == [(kind, line, Severity.ERROR)]
    assert needle in problems[0].message
    assert problems[0].file.endswith(page)


def test_duplicate_titles_point_at_the_first_page():
    problems = problems_of(FIXTURES / "defects" / "duplicate")
    assert [(p.kind, p.line) for p in problems] == [(Kind.DUPLICATE_TITLE, 2)]
    assert problems[0].file.endswith("two.md")
    assert "one.md:2" in problems[0].message


def test_warnings_only_page_still_loads_with_canonical_names():
    catalog = load_catalog(FIXTURES / "warnings", SERVICES)
    kinds = sorted(p.kind for p in catalog.problems if p.kind != Kind.CONNECTOR_SERVICE)
    assert kinds == sorted(
        [Kind.DATATYPE_SPELLING, Kind.EMPTY_ENTRY, Kind.SERVICE_SPELLING, Kind.SCHEMELESS_LINK]
    )
    assert catalog.ok
    (solution,) = catalog.solutions
    assert solution.datatype == "Photos"
    assert solution.sources == ("Facebook", "Instagram")


def test_good_pages_accept_lists_strings_aliases_and_keep_optional_fields():
    catalog = load_catalog(FIXTURES / "good", SERVICES)
    assert [p for p in catalog.problems if p.kind != Kind.CONNECTOR_SERVICE] == []
    by_slug = {s.slug: s for s in catalog.solutions}
    assert by_slug["fb-photos-google"].sources == ("Facebook", "Instagram")
    assert by_slug["fb-photos-google"].destinations == ("Google Photos", "Dropbox")
    folder = by_slug["fb-photos-folder"]
    assert folder.destinations == ("Local files", "Backblaze B2")
    assert folder.extra["tags"] == ["archive", "backup"]
    assert str(folder.extra["updated"]) == "2025-01-31"
    assert by_slug["calendar-ics"].summary.startswith("Export an iCalendar file")


def test_split_names_counts_stray_commas_and_rejects_nested_values():
    assert split_names("A, B,") == (["A", "B"], 1, [])
    assert split_names(["A", "B,", None]) == (["A", "B"], 2, [])
    names, empty, bad = split_names(["A", {"x": 1}])
    assert names == ["A"] and empty == 0 and len(bad) == 1


def test_read_page_never_raises_on_binary(tmp_path):
    page_file = tmp_path / "bad.md"
    page_file.write_bytes(b"---\ntitle: \xff\xfe\n---\n")
    page = read_page(page_file)
    assert page.meta is None
    assert page.problems and page.problems[0].severity is Severity.ERROR


def test_yaml_comment_in_closed_frontmatter_is_not_markdown(tmp_path):
    page_file = tmp_path / "commented.md"
    page_file.write_text(
        "---\n# sources may be a list\ntitle: T\ndatatype: Photos\nsources: Facebook\n"
        "destinations: Koofr\n---\n\nBody.\n"
    )
    assert problems_of(page_file) == []


def test_services_file_problems_are_reported(tmp_path):
    bad = tmp_path / "services.yaml"
    bad.write_text("services:\n  - name: A\n    offers: [Nonsense]\n  - name: B\n    aliases: [A]\n")
    kinds = [(p.kind, p.message) for p in load_catalog(FIXTURES / "good", bad).problems]
    assert any("unknown data type 'Nonsense'" in m for _, m in kinds)
    assert any("already used by 'A'" in m for _, m in kinds)
    broken = tmp_path / "broken.yaml"
    broken.write_text("services: [\n")
    assert any("not valid YAML" in p.message for p in load_catalog(FIXTURES / "good", broken).problems)


runner = CliRunner()


def test_cli_check_exit_codes():
    args = ["--services", str(SERVICES)]
    ok = runner.invoke(app, ["catalog", "check", str(FIXTURES / "good"), *args])
    assert ok.exit_code == 0, ok.output
    warn = runner.invoke(app, ["catalog", "check", str(FIXTURES / "warnings"), *args])
    assert warn.exit_code == 0 and "datatype-spelling" in warn.output
    bad = runner.invoke(app, ["catalog", "check", str(FIXTURES / "defects"), *args])
    assert bad.exit_code == 1
    assert "Traceback" not in bad.output
    assert "malformed-yaml.md:5" in bad.output and "[no target]()" in bad.output
    missing = runner.invoke(app, ["catalog", "check", str(FIXTURES / "nope")])
    assert missing.exit_code == 2


def test_cli_check_json():
    import json

    result = runner.invoke(
        app, ["catalog", "check", str(FIXTURES / "defects" / "unknown-service.md"), "--services", str(SERVICES), "--json"]
    )
    found = [p for p in json.loads(result.output) if p["kind"] == "unknown-service"]
    assert found[0]["line"] == 4 and found[0]["severity"] == "error"


def test_repository_content_is_clean():
    """The shipped solution pages pass the catalog's own check (errors and warnings)."""
    root = Path(__file__).parent.parent / "content"
    catalog = load_catalog(root / "solutions", root / "services.yaml")
    assert catalog.problems == []
    assert len(catalog.solutions) >= 20
