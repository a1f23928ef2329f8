"""Hostile and malformed solution pages: a clear error with file:line, bounded memory and time.

The pages come from ``tests/hostile/pages.py`` (generated here, nothing large committed). Each case
is loaded in-process and must report its expected kind on its expected line; then the whole set goes
through ``ferry catalog check`` in a child process that records its own peak RSS, under a generous
timeout so a hang fails the test instead of the CI job (no durations are asserted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import Kind, Problem, Severity, load_catalog
from catalog.page_yaml import FrontmatterError, load_frontmatter
from catalog.pages import FRONTMATTER_MAX_BYTES, read_page
from tests.hostile.pages import (
    ANSI_FILE_NAME, GENERATORS, MARKUP_TITLE, VALID_FRONTMATTER, bom_crlf, duplicate_keys,
)

ROOT = Path(__file__).resolve().parent.parent
SERVICES = Path(__file__).parent / "catalog_fixtures" / "services.yaml"
#: Child processes are killed after this long: a page that hangs the checker fails here.
CHILD_TIMEOUT_S = 180
#: "Well under" the 500 MB the issue allows; a plain ``ferry catalog check`` peaks near 100 MB.
RSS_LIMIT_MB = 250


def errors_of(path: Path) -> list[Problem]:
    return [p for p in load_catalog(path, SERVICES).problems if p.severity is Severity.ERROR]


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_each_hostile_page_gets_its_error_on_its_line(tmp_path, name):
    page = GENERATORS[name](tmp_path)
    catalog = load_catalog(page.path, SERVICES)  # never raises
    errors = [p for p in catalog.problems if p.severity is Severity.ERROR]
    if page.kind is None:
        assert errors == [] and len(catalog.solutions) == 1, errors
        return
    kinds = {page.kind, "not-text"} if name == "lone-surrogate-escape" else {page.kind}
    found = [p for p in errors if p.kind in kinds and p.line == page.line]
    assert found, f"{name}: wanted {page.kind} at line {page.line}, got {[str(p) for p in errors]}"
    assert found[0].file.endswith(".md") and "\n" not in found[0].message and len(found[0].message) < 300
    if page.kind != "unknown-service":  # a page naming an unknown service is still shown, flagged
        assert catalog.solutions == []  # a refused page is never half-built into the site


def test_duplicate_keys_name_both_lines(tmp_path):
    (problem,) = errors_of(duplicate_keys(tmp_path).path)
    assert (problem.kind, problem.line) == (Kind.DUPLICATE_KEY, 5)
    assert "'title' at lines 2 and 5" in problem.message


def test_every_duplicate_is_reported_at_any_depth():
    block = "title: a\nextra:\n  x: 1\n  x: 2\ntitle: b\n"
    for pure in (False, True):
        assert load_frontmatter(block, pure_python=pure).duplicates == [("x", 2, 3), ("title", 0, 4)]


def test_bom_and_crlf_page_loads_like_the_plain_one(tmp_path):
    page = bom_crlf(tmp_path / "crlf")
    plain = tmp_path / "plain" / "bom-crlf.md"
    plain.parent.mkdir()
    plain.write_bytes(page.path.read_bytes().removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n"))
    crlf, lf = read_page(page.path), read_page(plain)
    assert crlf.problems == lf.problems == []
    assert crlf.meta == lf.meta and crlf.meta["title"] == "Facebook photos to a folder"
    assert crlf.key_lines == lf.key_lines == {"title": 2, "datatype": 3, "sources": 4, "destinations": 5}
    assert crlf.body == lf.body and "\r" not in crlf.body and crlf.body_line == 7


def test_frontmatter_at_the_cap_is_read_and_one_byte_over_is_refused(tmp_path):
    def page_of(size: int) -> Path:
        head = "---\ntitle: T\ndatatype: Photos\nsources: Facebook\ndestinations: Local files\nnote: "
        filler = "x" * (size - len(head) - len("\n---\n"))
        path = tmp_path / f"p{size}.md"
        path.write_text(head + filler + "\n---\n\nBody.\n")
        return path

    assert errors_of(page_of(FRONTMATTER_MAX_BYTES)) == []
    (too_big,) = errors_of(page_of(FRONTMATTER_MAX_BYTES + 1))
    assert (too_big.kind, too_big.line) == (Kind.FRONTMATTER_TOO_LARGE, 1)


@pytest.mark.parametrize("pure", [False, True], ids=["libyaml", "python"])
@pytest.mark.parametrize(
    ("block", "kind", "line"),
    [
        ("a: &x [1, 2]\nb: *x\n", Kind.YAML_ALIAS, 1),
        ("a: &x {k: v}\nb:\n  <<: *x\n", Kind.YAML_ALIAS, 2),
        ("a: " + "[" * 500 + "]" * 500, Kind.YAML_TOO_DEEP, 0),
        ("a:\n  " + "- " * 500 + "x\n", Kind.YAML_TOO_DEEP, 1),
        ("a: 1\nn: " + "9" * 101 + "\n", Kind.MALFORMED_YAML, 1),
        ("a: 1\nb: 1.5e+" + "9" * 100 + "\n", Kind.MALFORMED_YAML, 1),
        ('a: "\\e[31m"\n', Kind.NOT_TEXT, 0),
        ("a: 1\nb: x\x00y\n", Kind.NOT_TEXT, 1),
        ("a: !!python/object:os.system x\n", Kind.MALFORMED_YAML, 0),
    ],
)
def test_loader_refusals_hold_with_either_parser(block, kind, line, pure):
    with pytest.raises(FrontmatterError) as refused:
        load_frontmatter(block, pure_python=pure)
    assert (refused.value.kind, refused.value.line) == (kind, line)


def test_python_parser_refuses_a_lone_surrogate_escape_as_not_text():
    with pytest.raises(FrontmatterError) as refused:
        load_frontmatter('title: "a \\ud800 b"\n', pure_python=True)
    assert refused.value.kind is Kind.NOT_TEXT and "surrogate" in refused.value.message


def test_anchors_without_aliases_and_plain_numbers_still_load():
    loaded = load_frontmatter("a: &x 1\nb: 12345678901234567890\nc: 2024-05-01\n")
    assert loaded.meta["a"] == 1 and loaded.meta["b"] == 12345678901234567890


_CLI_CHILD = r"""
import atexit, json, resource, sys
out = sys.argv[1]
def report():
    with open(out, "w") as f:
        json.dump({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, f)
atexit.register(report)
sys.argv = ["ferry", *sys.argv[2:]]
from ferry.cli import app
app()
"""


def test_cli_check_on_every_hostile_page_is_bounded_and_names_each_file(tmp_path):
    folder = tmp_path / "pages"
    pages = [generate(folder) for generate in GENERATORS.values()]
    stats = tmp_path / "stats.json"
    argv = [sys.executable, "-c", _CLI_CHILD, str(stats), "catalog", "check", str(folder), "--services", str(SERVICES)]
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
    done = subprocess.run(argv, capture_output=True, timeout=CHILD_TIMEOUT_S, cwd=tmp_path, env=env, check=False)
    out = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 1, done.stderr.decode("utf-8", "replace")[-2000:]
    assert "Traceback" not in out + done.stderr.decode("utf-8", "replace")
    assert "\x1b" not in out and "\x07" not in out  # the ANSI file name is printed as text
    rss = json.loads(stats.read_text())["rss_mb"]
    assert rss < RSS_LIMIT_MB, f"ferry catalog check peaked at {rss:.0f} MB"
    lines = out.splitlines()
    for page in pages:
        if page.kind is None:
            continue
        shown = page.path.name if page.path.name != ANSI_FILE_NAME else "red"
        where = f":{page.line}: error:" if page.line else ": error:"
        assert any(shown in line and where in line for line in lines), f"{page.name} not reported\n{out[-3000:]}"
    assert "[bold]link[link=evil.example]" in out  # markup in a file name is shown, not applied


def test_cli_search_prints_a_markup_title_as_text(tmp_path):
    GENERATORS["markup-title"](tmp_path)
    argv = [sys.executable, "-m", "ferry", "catalog", "search", "loud", "-s", str(tmp_path), "--services", str(SERVICES)]
    env = {**os.environ, "COLUMNS": "400"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert MARKUP_TITLE in done.stdout


# -- fuzz: the frontmatter parser only ever answers with the catalog's own problems ---------------------

_FRAGMENTS = st.sampled_from([
    "&a ", "*a", "<<: ", "[", "]", "{", "}", "- ", "? ", ": ", ", ", '"', "'", "\\u", "\\ud800", "\\e", "---",
    "...", "!!binary ", "!!python/object:os.system ", "!x ", "%YAML 1.1", "#", "# Heading", "\t", "\r\n", "\r",
    "\ufeff", "1:2:3", "0x", "9" * 5000, "1e+400", "2024-01-01", "~", "null", "\x85", "\u2028", "|", ">-", "  ",
])
_FIELDS = st.sampled_from([
    "title: Photos out", "datatype: Photos", "datatype: photo", "sources: Facebook", "sources: [Facebook, Instagram]",
    "destinations: Local files", "destinations:\n  - Koofr\n  - Dropbox", "summary: s", "tags: [a, b]", "title: T",
])
_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
_LINE = st.one_of(_FIELDS, st.lists(st.one_of(_FRAGMENTS, _TEXT), max_size=6).map("".join))
_BLOCKS = st.lists(_LINE, max_size=12).map("\n".join)
_JUNK = st.sampled_from(["", "", "", "", "\ud800", "\x00", "\x1b[31m", "bytes"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(valid=st.booleans(), block=_BLOCKS, body=_BLOCKS, junk=_JUNK, raw=st.binary(min_size=1, max_size=16))
def test_fuzz_frontmatter_parser_never_raises(tmp_path, valid, block, body, junk, raw):
    """Frontmatter-ish text (valid fields, YAML syntax, numbers, escapes, junk): problems, never exceptions."""
    text = "---\n" + (VALID_FRONTMATTER if valid else "") + block + (junk if junk != "bytes" else "") + "\n---\n" + body
    data = text.encode("utf-8", "surrogatepass") + (raw if junk == "bytes" else b"")
    path = tmp_path / "fuzz.md"
    path.write_bytes(data)
    page = read_page(path)  # must not raise
    assert all(isinstance(p, Problem) and isinstance(p.kind, Kind) for p in page.problems)
    assert all(p.line >= 0 and "\n" not in p.message for p in page.problems)
    for pure in (False, True):
        try:
            load_frontmatter(block, pure_python=pure)
        except FrontmatterError:
            pass
    load_catalog(path, SERVICES)  # the checks after the parser too
