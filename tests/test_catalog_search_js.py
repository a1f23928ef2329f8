"""The site's search (catalog/static/search.js) ranks exactly like catalog/search.py, in Chromium.

search.js is a port of the Python search, so the same queries over the same index must give the
same hits in the same order with the same scores: the shipped ``content/``, the test fixtures and a
generated 300-page catalog, with hand-picked typos and a few hundred seeded random ones. Then the
real home page is driven by typing misspelt words into the search box, as a user would.
"""

from __future__ import annotations

import difflib
import json
import random
import sys
from pathlib import Path

import pytest

from catalog import ConnectorInfo, Searcher, build_index, build_site, load_catalog
from test_catalog_browser import browser, chromium_path, visible_titles  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
FIXTURES = Path(__file__).parent / "catalog_fixtures"
SEARCH_JS = ROOT / "catalog" / "static" / "search.js"

#: Misspelt and partial queries people type (issue 13: "albms", "google fotos").
QUERIES = [
    "albms", "google fotos", "fotos", "google photo", "facebok albums", "instagarm reels", "insta", "calender",
    "calender ics", "takeout", "backblaze", "bakblaze b2", "b2", "s3", "amazon s3 bucket", "tiktok videos",
    "tik tok", "icloud", "dropbox photos", "koofr", "archive", "captions", "events", "posts to blog", "wordpres",
    "phot", "vids", "cal", "Café & photos", "GOOGLE   FOTOS!!", "photos videos calendar posts archive backup",
    "zzzz", "a", "",
]
FILTERED = [
    {"datatype": "Photos", "text": "albms"},
    {"source": "Facebook", "text": "google fotos"},
    {"destination": "Backblaze B2", "text": "fotos"},
    {"datatype": "Photos"},
]


def connectors() -> list[ConnectorInfo]:
    from flows.portmap import connector_infos

    return connector_infos()


def typos(index: dict, count: int, seed: int) -> list[str]:
    """Seeded queries: one to three words from titles and names, each maybe misspelt."""
    rng = random.Random(seed)
    words = sorted({w for s in index["solutions"] for w in (s["title"] + " " + " ".join(s["sources"])).split()})
    queries = []
    for _ in range(count):
        picked = []
        for word in rng.sample(words, k=rng.randint(1, 3)):
            word = word.lower()
            edit = rng.randrange(5)
            at = rng.randrange(len(word))
            if edit == 0:
                word = word[:at] + word[at + 1 :]  # drop a letter
            elif edit == 1:
                word = word[:at] + rng.choice("aeioufst") + word[at + 1 :]  # wrong letter
            elif edit == 2 and len(word) > 1:
                at = min(at, len(word) - 2)
                word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]  # swapped letters
            elif edit == 3:
                word = word[: max(3, at + 1)]  # a prefix
            picked.append(word)
        queries.append(" ".join(picked))
    return queries


def python_hits(index: dict, criteria: dict) -> list[list]:
    searcher = Searcher(index)
    return [[h.solution["slug"], h.score] for h in searcher.search(limit=None, **criteria)]


@pytest.fixture(scope="module")
def js(browser):  # noqa: F811 (the fixture imported above)
    page = browser.new_page()
    page.set_content("<!doctype html><title>search.js</title>")
    page.add_script_tag(path=str(SEARCH_JS))
    yield page
    page.close()


def js_hits(page, index: dict, criteria_list: list[dict]) -> list[list[list]]:
    return page.evaluate(
        """([index, all]) => {
            const searcher = new PortmapSearch.Searcher(index);
            return all.map(c => searcher.search(c).map(h => [h.solution.slug, h.score]));
        }""",
        [index, criteria_list],
    )


def generated_index(tmp_path: Path, pages: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from bench.catalog import generate

    folder = tmp_path / "generated"
    folder.mkdir()
    generate(folder, CONTENT / "services.yaml", pages, seed=13)
    return build_index(load_catalog(folder, CONTENT / "services.yaml", connectors()))


def test_similarity_is_difflib_ratio(js):
    rng = random.Random(5)
    pairs = [("fotos", "photos"), ("albms", "albums"), ("", "x"), ("abcabc", "cbacba"), ("aaaa", "aa")]
    for _ in range(400):
        pairs.append(tuple("".join(rng.choice("abcde ") for _ in range(rng.randint(0, 12))) for _ in range(2)))
    got = js.evaluate("ps => ps.map(([a, b]) => PortmapSearch.similarity(a, b))", pairs)
    want = [1.0 if a == b else difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() for a, b in pairs]
    assert got == want


def test_round4_is_pythons_round(js):
    rng = random.Random(9)
    values = [0.65625, 0.03125, 2.03125, 1.5, 0.00005, 0.1 + 0.2, 2.675, 1.00005]
    values += [j / 32 for j in range(1, 400)] + [rng.uniform(0, 20) for _ in range(300)]
    assert js.evaluate("xs => xs.map(PortmapSearch.round4)", values) == [round(x, 4) for x in values]


def test_normalize_matches_python(js):
    from catalog.fuzzy import normalize

    samples = ["Google  Photos!", "Café & Crème", "ÅNGSTRÖM", "ﬁle", "Koofr/WebDAV", "  x  ", "naïve—dash", "İstanbul"]
    assert js.evaluate("ss => ss.map(PortmapSearch.normalize)", samples) == [normalize(s) for s in samples]


@pytest.mark.parametrize("which", ["content", "fixtures", "generated"])
def test_site_search_ranks_like_python(js, tmp_path, which):
    if which == "content":
        index = build_index(load_catalog(CONTENT / "solutions", CONTENT / "services.yaml", connectors()))
    elif which == "fixtures":
        index = build_index(load_catalog(FIXTURES / "good", FIXTURES / "services.yaml"))
    else:
        index = generated_index(tmp_path, 300)
    index = json.loads(json.dumps(index))  # exactly what the browser receives
    criteria = [{"text": q} for q in QUERIES + typos(index, 150, seed=len(which))] + FILTERED
    want = [python_hits(index, c) for c in criteria]
    got = js_hits(js, index, criteria)
    mismatched = [(c, w[:5], g[:5]) for c, w, g in zip(criteria, want, got) if w != g]
    assert not mismatched, f"{len(mismatched)} of {len(criteria)} differ, e.g. {mismatched[:3]}"
    assert sum(1 for w in want if w) > len(criteria) // 2  # most queries find something: a real comparison


@pytest.fixture(scope="module")
def content_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("content-site")
    build_site(CONTENT / "solutions", CONTENT / "services.yaml", out, connectors())
    return out


def test_typing_misspelt_words_in_the_site_finds_the_pages(browser, content_site):  # noqa: F811
    index = build_index(load_catalog(CONTENT / "solutions", CONTENT / "services.yaml", connectors()))
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((content_site / "index.html").as_uri())
    box = page.get_by_label("Words")
    for query in ("albms", "google fotos", "instagarm reels", "calender"):
        box.fill("")
        box.press_sequentially(query, delay=5)  # key by key, as typed
        want = [s["title"] for s in (h.solution for h in Searcher(index).search(text=query, limit=None))]
        shown = visible_titles(page)
        assert shown == want, query
        assert page.locator("#result-count").inner_text() == f"{len(want)} solutions"
        assert f"text={query.replace(' ', '%20')}" in page.url
    box.fill("google fotos")
    assert "Google Photos" in visible_titles(page)[0]
    box.fill("albms")
    cards = page.locator("#results li").all_inner_texts()
    assert cards and all("album" in card.lower() for card in cards)  # every hit says "album(s)"
    page.get_by_label("Data type").select_option("Photos")
    assert all(s["datatype"] == "Photos" for s in index["solutions"] if s["title"] in visible_titles(page))
    assert errors == []
    page.close()
